"""Account emails: branded, in the recipient's language, with no health data, only links."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from caredoor.core.brands.models import Brand

# (filename, content, mimetype), as EmailMessage.attach takes them.
Attachment = tuple[str, bytes, str]


def _language(brand: Brand, preferred: str = "") -> str:
    return preferred if preferred in brand.languages else brand.default_language


def _zone(*candidates: str) -> zoneinfo.ZoneInfo:
    """The first valid IANA zone of ``candidates``, else UTC."""
    for name in candidates:
        if not name:
            continue
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
    return zoneinfo.ZoneInfo("UTC")


def branded_email(
    *,
    brand: Brand,
    to: str,
    template: str,
    context: dict,
    language: str = "",
    time_zone: str = "",
    attachments: Sequence[Attachment] | Callable[[], Sequence[Attachment]] = (),
) -> EmailMultiAlternatives:
    """The message, rendered in ``language`` if the brand offers it (else the brand's
    default) with times in ``time_zone`` (else the brand's). ``attachments`` may be a
    callable, so that what it builds (a calendar invite) is in the same language and zone."""
    with (
        translation.override(_language(brand, language)),
        timezone.override(_zone(time_zone, brand.time_zone)),
    ):
        ctx = {"brand": brand, **context}
        prefix = template if "/" in template else f"accounts/email/{template}"
        subject = " ".join(render_to_string(f"{prefix}_subject.txt", ctx).split())
        body = render_to_string(f"{prefix}.txt", ctx)
        files = list(attachments() if callable(attachments) else attachments)
    sender = f"{brand.name} <{settings.DEFAULT_FROM_EMAIL.split('<')[-1].rstrip('>')}>"
    message = EmailMultiAlternatives(subject=subject, body=body, from_email=sender, to=[to])
    for filename, content, mimetype in files:
        message.attach(filename, content, mimetype)
    return message


def send_branded(
    *,
    brand: Brand,
    to: str,
    template: str,
    context: dict,
    language: str = "",
    time_zone: str = "",
    attachments: Sequence[Attachment] = (),
) -> None:
    branded_email(
        brand=brand,
        to=to,
        template=template,
        context=context,
        language=language,
        time_zone=time_zone,
        attachments=attachments,
    ).send()


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
