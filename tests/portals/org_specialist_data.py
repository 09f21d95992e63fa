"""Specialist profiles for the organization portal's tests, built through the real actions."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from caredoor.core.accounts.models import Membership, User
from caredoor.core.brands.models import Brand
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.compliance.uploads import store_file
from caredoor.core.specialists import actions
from caredoor.core.specialists.choices import DEFAULT_STEPS, TermKind
from caredoor.core.specialists.models import SpecialistProfile, Term
from tests import factories

TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png(colour: str = "#336699") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def term(network: Any, kind: str, name: str) -> Term:
    return Term.objects.get_or_create(
        network=network, kind=kind, slug=name.lower().replace(" ", "-"), defaults={"name": name}
    )[0]


def stored_photo(user: User, colour: str = "#336699") -> Any:
    return store_file(
        png(colour),
        content_type="image/png",
        purpose="specialist.photo",
        created_by=user,
        original_name="me.png",
    )


def complete(profile: SpecialistProfile, *, name: str) -> SpecialistProfile:
    """Fill every field of the default steps and add a licence."""
    user, network = profile.user, profile.network
    values: dict[str, Any] = {
        "display_name": name,
        "professional_title": "Psychotherapist",
        "time_zone": "Europe/Berlin",
        "phone": "+4930901820",
        "practice_preferences": {
            "session_formats": ["video"],
            "age_groups": ["adults"],
            "accepts_new_patients": True,
        },
        "languages": ["en", "de"],
        "categories": [term(network, TermKind.CATEGORY, "Therapy")],
        "education": [{"degree": "MSc Psychology", "institution": "FU Berlin", "year": 2012}],
        "specializations": [term(network, TermKind.SPECIALIZATION, "Anxiety")],
        "expertise": ["CBT"],
        "bio": "I help adults with <b>anxiety</b>.<script>alert(1)</script>",
        "photo": stored_photo(user),
        "intro_video_url": "https://video.example/intro",
    }
    for step in DEFAULT_STEPS:
        actions.do_save_step(
            profile, step["key"], {f: values[f] for f in step["fields"] if f in values}, actor=user
        )
    pdf = store_file(
        TINY_PDF,
        content_type="application/pdf",
        purpose="specialist.document",
        created_by=user,
        original_name="licence.pdf",
    )
    actions.do_add_document(profile, kind="licence", title="Licence", stored=pdf, actor=user)
    return SpecialistProfile.objects.get(pk=profile.pk)


def specialist(
    brand: Brand, email: str, *, name: str = "Dr. Test", submit: bool = True
) -> SpecialistProfile:
    """A new specialist on ``brand`` with a complete profile, submitted unless told not."""
    user = factories.make_user(email, name=name)
    profile = complete(actions.do_register_specialist(user, brand), name=name)
    if submit:
        actions.do_submit(profile, actor=user)
    return SpecialistProfile.objects.get(pk=profile.pk)


def membership(user: User, role: str) -> Membership:
    return user.memberships.get(role=role, revoked_at__isnull=True)


def approve(profile: SpecialistProfile, operator: User) -> SpecialistProfile:
    actions.do_review(profile, decision="approve", reviewer=membership(operator, "operator"))
    return SpecialistProfile.objects.get(pk=profile.pk)


def audit_count() -> int:
    return AuditEvent.objects.count()
