"""Account emails: branded, in the recipient's language, with no health data, only links."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from caredoor.core.brands.models import Brand


def _language(brand: Brand, preferred: str = "") -> str:
    return preferred if preferred in brand.languages else brand.default_language


def send_branded(
    *, brand: Brand, to: str, template: str, context: dict, language: str = ""
) -> None:
    with translation.override(_language(brand, language)):
        ctx = {"brand": brand, **context}
        prefix = template if "/" in template else f"accounts/email/{template}"
        subject = render_to_string(f"{prefix}_subject.txt", ctx).strip()
        body = render_to_string(f"{prefix}.txt", ctx)
    sender = f"{brand.name} <{settings.DEFAULT_FROM_EMAIL.split('<')[-1].rstrip('>')}>"
    EmailMultiAlternatives(subject=subject, body=body, from_email=sender, to=[to]).send()


def send_invitation(invitation, link: str) -> None:  # type: ignore[no-untyped-def]
    send_branded(
        brand=invitation.sent_on_brand,
        to=invitation.email,
        template="invitation",
        context={
            "invitation": invitation,
            "link": link,
            "inviter": invitation.invited_by.display_name if invitation.invited_by else "",
        },
    )


def send_magic_link(user, brand: Brand, link: str) -> None:  # type: ignore[no-untyped-def]
    send_branded(
        brand=brand,
        to=user.email,
        template="magic_link",
        context={"link": link},
        language=user.language,
    )
