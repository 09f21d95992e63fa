"""Building specialist profiles in tests, through the real actions."""

from __future__ import annotations

import io

from caredoor.core.accounts.models import Membership
from caredoor.core.compliance.uploads import IMAGE_TYPES, CheckedUpload, store_file
from caredoor.core.specialists import actions
from caredoor.core.specialists.choices import TermKind
from caredoor.core.specialists.models import SpecialistProfile, Term

TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes(size: tuple[int, int] = (64, 64), colour: str = "#336699") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def terms(network, kind: str, *names: str) -> list[Term]:  # type: ignore[no-untyped-def]
    return [
        Term.objects.get_or_create(
            network=network, kind=kind, slug=n.lower().replace(" ", "-"), defaults={"name": n}
        )[0]
        for n in names
    ]


def complete_profile(user, brand, *, name: str = "Dr. Test") -> SpecialistProfile:  # type: ignore[no-untyped-def]
    """A profile with every field of the default scheme filled in (still a draft)."""
    profile = actions.do_register_specialist(user, brand)
    network = brand.network
    photo = store_file(
        CheckedUpload("image/png", png_bytes(), "me.png"),
        purpose="specialist.photo",
        created_by=user,
    )
    assert "image/png" in IMAGE_TYPES
    values = {
        "display_name": name,
        "professional_title": "Psychotherapist",
        "time_zone": "Europe/Berlin",
        "phone": "+4930901820",
        "practice_preferences": {
            "session_formats": ["video"],
            "accepts_new_patients": True,
            "age_groups": ["adults"],
        },
        "languages": ["en", "de"],
        "categories": terms(network, TermKind.CATEGORY, "Therapy"),
        "education": [{"degree": "MSc Psychology", "institution": "FU Berlin", "year": 2012}],
        "specializations": terms(network, TermKind.SPECIALIZATION, "Anxiety", "Depression"),
        "expertise": ["CBT"],
        "bio": "I help adults with anxiety.",
        "photo": photo,
        "intro_video_url": "https://vimeo.com/1",
    }
    for step in actions.steps_of(profile):
        actions.do_save_step(
            profile, step.key, {f: values[f] for f in step.fields if f in values}, actor=user
        )
    document = store_file(
        CheckedUpload("application/pdf", TINY_PDF, "licence.pdf"),
        purpose="specialist.document",
        created_by=user,
    )
    actions.do_add_document(profile, kind="licence", title="Licence", stored=document, actor=user)
    return SpecialistProfile.objects.get(pk=profile.pk)


def operator_membership(side) -> Membership:  # type: ignore[no-untyped-def]
    return side.operator.memberships.get(role="operator")


def approved_and_listed(side, user, brands, *, name: str = "Dr. Listed", price: int = 9000):  # type: ignore[no-untyped-def]
    profile = complete_profile(user, side.brand, name=name)
    actions.do_submit(profile, actor=user)
    actions.do_review(profile, decision="approve", reviewer=operator_membership(side))
    listings = []
    for brand in brands:
        listing = actions.do_request_listing(
            profile,
            brand,
            session_offer="50 minutes by video",
            price_minor=price if actions.specialist_sets_price(profile, brand) else None,
            actor=user,
        )
        actions.do_set_listing_status(listing, "approved", actor=operator_membership(side))
        listings.append(listing)
    return SpecialistProfile.objects.get(pk=profile.pk), listings
