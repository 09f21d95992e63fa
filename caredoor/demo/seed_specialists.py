"""Seed the specialist network: terms, profiles in every state, listings across brands."""

from __future__ import annotations

import io

from django.utils.text import slugify

from caredoor.core.accounts.models import Membership, User
from caredoor.core.brands.models import Brand
from caredoor.core.compliance.uploads import CheckedUpload, store_file
from caredoor.core.specialists import actions
from caredoor.core.specialists.models import SpecialistProfile, Term
from caredoor.demo import data

DEMO_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PALETTE = ["#1f4e79", "#065f46", "#6d28d9", "#9a3412", "#1d4ed8", "#be185d", "#374151"]


def _avatar(name: str, colour: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    size = 320
    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    initials = "".join(part[0] for part in name.replace("Dr. ", "").split()[:2]).upper()
    try:
        font = ImageFont.load_default(size=130)
    except TypeError:
        font = ImageFont.load_default()
    draw.text((size / 2, size / 2), initials, fill="#ffffff", font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _operator(network) -> Membership:  # type: ignore[no-untyped-def]
    return Membership.objects.active().get(network=network, role="operator")


def seed_specialists(brands: dict[str, Brand], log=print) -> None:  # type: ignore[no-untyped-def]
    home = brands["harbor"]
    network = home.network
    terms: dict[str, Term] = {}
    for kind, names in data.TERMS.items():
        for name in names:
            terms[name], _ = Term.objects.get_or_create(
                network=network, kind=kind, slug=slugify(name), defaults={"name": name}
            )
    operator = _operator(network)
    for i, spec in enumerate(data.SPECIALISTS):
        user = User.objects.filter(email=spec["email"]).first()
        if user is None:
            user = User.objects.create_user(spec["email"], data.DEMO_PASSWORD, name=spec["name"])
        if SpecialistProfile.objects.filter(user=user, network=network).exists():
            continue
        profile = actions.do_register_specialist(user, home)
        values = {
            "display_name": spec["name"],
            "professional_title": spec["title"],
            "time_zone": "Europe/Berlin",
            "phone": f"+49301234{500 + i}",
            "practice_preferences": {
                "session_formats": ["video", "phone"],
                "accepts_new_patients": True,
                "age_groups": ["adults"],
            },
            "languages": spec["languages"],
            "specializations": [terms[n] for n in spec["specializations"]],
            "categories": [terms[n] for n in spec["categories"]],
            "expertise": spec["expertise"],
            "bio": spec["bio"],
            "education": spec["education"],
        }
        if spec["state"] != "draft":
            values["photo"] = store_file(
                CheckedUpload(
                    "image/png", _avatar(spec["name"], PALETTE[i % len(PALETTE)]), "photo.png"
                ),
                purpose="specialist.photo",
                created_by=user,
            )
        for step in actions.steps_of(profile):
            actions.do_save_step(
                profile, step.key, {f: values[f] for f in step.fields if f in values}, actor=user
            )
        if spec["state"] == "draft":
            log(f"specialist (draft)              {spec['email']}")
            continue
        document = store_file(
            CheckedUpload("application/pdf", DEMO_PDF, "licence.pdf"),
            purpose="specialist.document",
            created_by=user,
        )
        actions.do_add_document(
            profile, kind="licence", title="Professional licence", stored=document, actor=user
        )
        actions.do_submit(profile, actor=user)
        if spec["state"] == "approved":
            actions.do_review(profile, decision="approve", reviewer=operator)
        elif spec["state"] == "changes_requested":
            actions.do_review(
                profile, decision="request_changes", fields=spec["changes"], reviewer=operator
            )
        elif spec["state"] == "rejected":
            actions.do_review(profile, decision="reject", reason=spec["reason"], reviewer=operator)
        for slug, (status, price) in spec["listings"].items():
            brand = brands[slug]
            listing = actions.do_request_listing(
                profile,
                brand,
                session_offer="50-minute session by video",
                price_minor=price if actions.specialist_sets_price(profile, brand) else None,
                actor=user,
            )
            if status == "approved":
                actions.do_set_listing_status(listing, "approved", actor=operator)
        log(f"specialist ({spec['state']:<18}) {spec['email']}")
