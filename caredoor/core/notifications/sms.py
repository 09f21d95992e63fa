"""The SMS channel: one small interface, a Twilio adapter, off unless configured.

``sms_sender()`` is what callers use: a ``TwilioSms`` when the three ``TWILIO_*``
variables are set (``config/env.py`` -> ``settings.SMS_TWILIO``), else ``DisabledSms``,
whose ``enabled`` is False and whose ``send`` refuses loudly. Callers check ``enabled``
(``can_text`` also needs the person's phone number) before offering or sending texts.

Texts are short, in the recipient's language, and carry counts, the brand and a link
only: never a message's text, a name of a condition, or anything a shared phone screen
should not show. Errors name the provider's status and error code, never the number or
the text.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx
from django.conf import settings

TWILIO_API = "https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"
TIMEOUT = 10.0  # seconds


class SmsError(Exception):
    """A text could not be sent (the provider refused it, or could not be reached)."""


class SmsDisabled(SmsError):
    """No SMS provider is configured."""


class SmsSender(Protocol):
    enabled: bool

    def send(self, to: str, text: str) -> str:
        """Send ``text`` to ``to`` (E.164); returns the provider's id of the message."""
        ...


class DisabledSms:
    """The default: no provider. ``send`` raises so a caller that forgot to check
    ``enabled`` fails visibly instead of pretending the text went out."""

    enabled = False

    def send(self, to: str, text: str) -> str:
        raise SmsDisabled(
            "SMS is not configured (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER)"
        )


class TwilioSms:
    """Twilio's Messages API: a form POST with basic auth (account SID and auth token)."""

    enabled = True

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        transport: httpx.BaseTransport | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.from_number = from_number
        self._transport = transport
        self._timeout = timeout

    def __repr__(self) -> str:  # never the token
        return f"TwilioSms(account_sid={self.account_sid!r}, from_number={self.from_number!r})"

    @property
    def url(self) -> str:
        return TWILIO_API.format(sid=self.account_sid)

    def send(self, to: str, text: str) -> str:
        try:
            with httpx.Client(transport=self._transport, timeout=self._timeout) as client:
                response = client.post(
                    self.url,
                    auth=(self.account_sid, self._auth_token),
                    data={"To": to, "From": self.from_number, "Body": text},
                    headers={"Accept": "application/json"},
                )
        except httpx.HTTPError as error:
            raise SmsError(f"Twilio could not be reached: {type(error).__name__}") from None
        if not response.is_success:
            status = response.status_code
            raise SmsError(f"Twilio refused the message: HTTP {status}{_code(response)}")
        try:
            sid = response.json().get("sid")
        except ValueError:
            sid = None
        if not isinstance(sid, str) or not sid:
            raise SmsError("Twilio answered without a message id")
        return sid


def _code(response: httpx.Response) -> str:
    """Twilio's numeric error code, if the body has one (its message may quote the
    number, so it is left out)."""
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return ""
    return f", error {code}" if isinstance(code, int) else ""


def sms_sender() -> SmsSender:
    """The configured sender (read from settings on each call, so tests can switch it)."""
    config = getattr(settings, "SMS_TWILIO", None)
    if not config:
        return DisabledSms()
    return TwilioSms(config["account_sid"], config["auth_token"], config["from_number"])


def can_text(user: Any) -> bool:
    """SMS is configured and the person has a phone number."""
    return bool(getattr(user, "phone", "")) and sms_sender().enabled
