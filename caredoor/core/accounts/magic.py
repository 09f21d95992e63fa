"""Magic sign-in links: single-use (the token covers the last sign-in time) and short-lived."""

from __future__ import annotations

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.encoding import force_bytes, force_str
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode

from caredoor.core.accounts.models import User

MAGIC_LINK_SECONDS = 15 * 60


class MagicLinkTokens(PasswordResetTokenGenerator):
    key_salt = "caredoor.accounts.magic_link"

    def _make_hash_value(self, user: User, timestamp: int) -> str:  # type: ignore[override]
        login = (
            "" if user.last_login is None else user.last_login.replace(microsecond=0, tzinfo=None)
        )
        return f"{user.pk}{user.email}{login}{timestamp}{user.is_active}"

    def check_token(self, user: User | None, token: str | None) -> bool:  # type: ignore[override]
        # The parent allows PASSWORD_RESET_TIMEOUT (days); a sign-in link lives 15 minutes.
        if not (user and token) or not super().check_token(user, token):
            return False
        try:
            issued = base36_to_int(token.split("-")[0])
        except ValueError:
            return False
        return self._num_seconds(self._now()) - issued <= MAGIC_LINK_SECONDS


tokens = MagicLinkTokens()


def make_path(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"/accounts/magic/{uid}/{tokens.make_token(user)}/"


def user_for(uidb64: str, token: str) -> User | None:
    try:
        pk = force_str(urlsafe_base64_decode(uidb64))
        user = User.objects.get(pk=pk, is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        return None
    return user if tokens.check_token(user, token) else None
