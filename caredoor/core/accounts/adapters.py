"""allauth adapters: the brand decides who may sign up and how people sign in."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.http import HttpRequest
from django.urls import reverse

from caredoor.core.accounts import actions
from caredoor.core.accounts.models import Membership
from caredoor.core.accounts.policy import MFA_REQUIRED_ROLES, PORTAL_PATHS, portal_of_role
from caredoor.core.accounts.queries import memberships_on_brand
from caredoor.core.brands.choices import SignInMethod
from caredoor.core.compliance.crypto import decrypt_text, encrypt_text


def _brand(request: HttpRequest | None) -> Any:
    return getattr(request, "brand", None)


def home_for(user: Any, brand: Any) -> str:
    """Where a person lands after signing in: the portal of their leading role here."""
    membership = memberships_on_brand(user, brand).first()
    return PORTAL_PATHS[portal_of_role(membership.role)] if membership else "/"


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Public brands with a password, email code or magic link; never private ones."""
        return actions.sign_up_method(_brand(request)) is not None

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        brand = _brand(request)
        if commit and brand is not None:
            actions.do_register_patient(user, brand, request=request)
        return user

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        return home_for(request.user, _brand(request))

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        return "/"  # the brand's patient home

    def send_account_already_exists_mail(self, email: str) -> None:
        """Someone signed up with an address that has an account: tell its owner to sign
        in (and join this brand from its front page) instead of saying so on the page."""
        request = context.request
        self.send_mail(
            "account/email/account_already_exists",
            email,
            {
                "signin_url": request.build_absolute_uri(reverse("account_login")),
                "join_url": request.build_absolute_uri(reverse("common:join_brand")),
                "password_reset_url": request.build_absolute_uri(reverse("account_reset_password")),
            },
        )

    def login(self, request: HttpRequest, user: Any) -> None:
        super().login(request, user)
        methods = request.session.get("account_authentication_methods") or [{}]
        actions.do_record_sign_in(request, user, methods[-1].get("method", "unknown"))

    def logout(self, request: HttpRequest) -> None:
        actions.do_record_sign_out(request, request.user)
        super().logout(request)

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        actions.do_record_sign_in_failure(request, str(credentials.get("email", "")))

    def format_email_subject(self, subject: str) -> str:
        brand = _brand(context.request)
        return f"[{brand.name}] {subject}" if brand else subject

    def send_mail(self, template_prefix: str, email: str, context_: dict) -> None:
        context_ = {**context_, "brand": _brand(context.request)}
        super().send_mail(template_prefix, email, context_)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """OIDC providers are SocialApps whose settings name the brands they serve."""

    def list_apps(self, request: HttpRequest, provider: Any = None, client_id: Any = None) -> list:
        brand = _brand(request)
        if brand is None or not brand.allows_sign_in(SignInMethod.OIDC):
            return []
        apps = super().list_apps(request, provider=provider, client_id=client_id)
        return [a for a in apps if brand.slug in (a.settings or {}).get("brands", [])]

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        brand = _brand(request)
        return bool(brand and brand.allows_sign_in(SignInMethod.OIDC))

    def save_user(self, request: HttpRequest, sociallogin: Any, form: Any = None) -> Any:
        user = super().save_user(request, sociallogin, form)
        brand = _brand(request)
        if brand is not None:
            actions.do_register_patient(user, brand, request=request)
        return user


class MFAAdapter(DefaultMFAAdapter):
    def get_totp_issuer(self) -> str:
        brand = _brand(context.request)
        return brand.name if brand else "Caredoor"

    def encrypt(self, text: str) -> str:
        return encrypt_text(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_text(encrypted_text)

    def can_delete_authenticator(self, authenticator: Any) -> bool:
        """People whose roles require two-factor sign-in cannot switch it off."""
        return (
            not Membership.objects.active()
            .filter(user_id=authenticator.user_id, role__in=MFA_REQUIRED_ROLES)
            .exists()
        )
