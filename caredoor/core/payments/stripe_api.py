"""The one door to Stripe: the official SDK, pointed at Stripe or at localstripe.

Everything that talks to the payment provider is here, so the demo, the tests and
production run the same calls; only ``settings.PAYMENTS["api_base"]`` differs. Calls carry
idempotency keys derived from our own rows, so a retried job repeats a call rather than
making a second payment or refund.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from caredoor.core.payments.models import Billing, Payment, Refund

StripeError = stripe.StripeError
CardError = stripe.CardError
SignatureError = stripe.SignatureVerificationError


class ConnectUnavailable(Exception):
    """Specialist billing needs Stripe Connect, which localstripe does not implement."""


def config() -> dict[str, Any]:
    return settings.PAYMENTS


def client() -> stripe.StripeClient:
    cfg = config()
    if not cfg["secret_key"]:
        raise ImproperlyConfigured("STRIPE_SECRET_KEY is not set: card payments are off")
    base = {"api": cfg["api_base"]} if cfg["api_base"] else None
    return stripe.StripeClient(
        cfg["secret_key"],
        base_addresses=base,  # type: ignore[arg-type]
        max_network_retries=2,
    )


def plain(answer: Any) -> dict[str, Any]:
    """Stripe's answer as plain dicts and lists (the SDK's objects are not dicts)."""
    return answer.to_dict() if hasattr(answer, "to_dict") else dict(answer)


def csp_for_checkout() -> dict[str, list[str]]:
    """The content-security-policy additions of a page that takes a card: Stripe.js (or
    localstripe's stand-in) as a script and its frames, and the API it calls."""
    from urllib.parse import urlsplit

    cfg = config()
    js = urlsplit(cfg["js_url"])
    origin = f"{js.scheme}://{js.netloc}"
    return {
        "script-src": [origin],
        "frame-src": [origin, "https://hooks.stripe.com"],
        "connect-src": [cfg["api_base"] or "https://api.stripe.com"],
    }


def allow_checkout(response: Any) -> Any:
    """Mark ``response`` (a page with the card field) with ``csp_for_checkout`` (read by
    django-csp's middleware, as its ``csp_update`` decorator does)."""
    response._csp_update = csp_for_checkout()
    return response


def connect_available() -> bool:
    """Stripe implements Connect; localstripe does not (``PAYMENTS["connect"]``)."""
    return bool(config().get("connect"))


def intent_params(payment: Payment, method_id: str) -> dict[str, Any]:
    """A PaymentIntent for ``payment``, confirmed at once with the patient's card.

    Specialist billing is a destination charge (Stripe Connect): the charge settles in the
    specialist's account and the platform keeps ``application_fee_amount``.
    """
    params: dict[str, Any] = {
        "amount": payment.amount_minor,
        "currency": payment.currency.lower(),
        "payment_method": method_id,
        "payment_method_types": ["card"],
        "confirm": True,
        "metadata": {
            "payment": str(payment.pk),
            "booking": str(payment.booking_id or ""),
            "brand": payment.brand.slug,
        },
    }
    if payment.billing == Billing.CONNECT:
        params["transfer_data"] = {"destination": payment.destination}
        params["application_fee_amount"] = application_fee(payment)
    return params


def application_fee(payment: Payment) -> int:
    """What the platform keeps of a destination charge: the payment less the specialist's
    share, never below zero (a voucher larger than the fee is the platform's to make up,
    through the payout run)."""
    return max(0, payment.amount_minor - payment.share_minor)


def create_intent(payment: Payment, method_id: str, *, attempt: int) -> Any:
    if payment.billing == Billing.CONNECT and not connect_available():
        raise ConnectUnavailable
    return plain(
        client().v1.payment_intents.create(
            params=intent_params(payment, method_id),  # type: ignore[arg-type]
            options={"idempotency_key": f"caredoor-payment-{payment.pk}-{attempt}"},
        )
    )


def retrieve_intent(intent_id: str) -> Any:
    return plain(client().v1.payment_intents.retrieve(intent_id))


def cancel_intent(intent_id: str) -> Any:
    return plain(client().v1.payment_intents.cancel(intent_id))


def refund_params(refund: Refund) -> dict[str, Any]:
    params: dict[str, Any] = {
        "payment_intent": refund.payment.intent_id,
        "amount": refund.amount_minor,
        "metadata": {"refund": str(refund.pk), "payment": str(refund.payment_id)},
    }
    if refund.payment.billing == Billing.CONNECT:
        # Take the money back from the specialist's account and give back the fee in the
        # same proportion (Stripe Connect, destination charges).
        params["reverse_transfer"] = True
        params["refund_application_fee"] = True
    return params


def create_refund(refund: Refund) -> Any:
    if refund.payment.billing == Billing.CONNECT and not connect_available():
        raise ConnectUnavailable
    return plain(
        client().v1.refunds.create(
            params=refund_params(refund),  # type: ignore[arg-type]
            options={"idempotency_key": f"caredoor-refund-{refund.pk}"},
        )
    )


def retrieve_refund(refund_id: str) -> Any:
    return plain(client().v1.refunds.retrieve(refund_id))


def list_refunds(intent_id: str) -> list[Any]:
    """Every refund of the intent (all pages: Stripe answers ten at a time by default)."""
    answer = client().v1.refunds.list(params={"payment_intent": intent_id, "limit": 100})
    return [plain(refund) for refund in answer.auto_paging_iter()]


def list_intents() -> Iterator[dict[str, Any]]:
    """Every PaymentIntent of the account, page by page (newest first at Stripe). Stripe can
    filter by ``created``; localstripe refuses any filter, so callers filter themselves."""
    answer = client().v1.payment_intents.list(params={"limit": 100})
    for intent in answer.auto_paging_iter():
        yield plain(intent)


def construct_event(payload: bytes, signature: str) -> Any:
    """The event if ``signature`` is Stripe's over exactly ``payload`` and recent enough;
    ``SignatureError`` otherwise (forged, altered, or older than the tolerance)."""
    cfg = config()
    event = stripe.Webhook.construct_event(
        payload, signature, cfg["webhook_secret"], tolerance=cfg["webhook_tolerance"]
    )
    return plain(event)


# --- Stripe Connect: the specialist's own account -------------------------------------------


def create_connect_account(email: str, country: str = "") -> Any:
    """An Express account for a specialist (POST /v1/accounts). Not in localstripe."""
    if not connect_available():
        raise ConnectUnavailable
    params: dict[str, Any] = {
        "type": "express",
        "email": email,
        "capabilities": {"card_payments": {"requested": True}, "transfers": {"requested": True}},
    }
    if country:
        params["country"] = country
    return client().v1.accounts.create(params=params)  # type: ignore[arg-type]


def onboarding_link(account_id: str, *, refresh_url: str, return_url: str) -> str:
    """Stripe's hosted onboarding for a connected account (POST /v1/account_links)."""
    if not connect_available():
        raise ConnectUnavailable
    link = client().v1.account_links.create(
        params={
            "account": account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
    )
    return str(link.url)


def retrieve_account(account_id: str) -> Any:
    if not connect_available():
        raise ConnectUnavailable
    return plain(client().v1.accounts.retrieve(account_id))
