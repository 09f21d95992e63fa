"""Seed the demo network. Idempotent: what exists is left exactly as it is."""

from __future__ import annotations

import io

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.core.files.base import ContentFile
from django.db import transaction

from caredoor.core.accounts.actions import do_grant_membership
from caredoor.core.accounts.models import User
from caredoor.core.accounts.policy import ROLE_SCOPE, Role, Scope, role_needs_mfa
from caredoor.core.brands.actions import do_add_domain, do_create_brand
from caredoor.core.brands.models import Brand, Network
from caredoor.core.organizations.actions import do_create_organization
from caredoor.core.organizations.models import Organization
from caredoor.demo import data
from caredoor.demo.seed_care import seed_care
from caredoor.demo.seed_consents import seed_consents
from caredoor.demo.seed_feedback import seed_feedback
from caredoor.demo.seed_intake import seed_intake
from caredoor.demo.seed_matching import seed_matching
from caredoor.demo.seed_messaging import seed_messaging
from caredoor.demo.seed_payments import seed_payments
from caredoor.demo.seed_scheduling import seed_scheduling
from caredoor.demo.seed_specialists import seed_specialists
from caredoor.demo.seed_video import seed_video


def _logo(spec: dict) -> ContentFile:
    name, colour = spec["fields"]["name"], spec["fields"]["primary_color"]
    from PIL import Image, ImageDraw, ImageFont

    size = 128
    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    try:
        font = ImageFont.load_default(size=76)
    except TypeError:  # Pillow without FreeType
        font = ImageFont.load_default()
    draw.text((size / 2, size / 2), name[0].upper(), fill="#ffffff", font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name=f"{spec['slug']}.png")


def _user(email: str, name: str, *, superuser: bool = False) -> tuple[User, bool]:
    user = User.objects.filter(email=email).first()
    if user:
        return user, False
    maker = User.objects.create_superuser if superuser else User.objects.create_user
    return maker(email, data.DEMO_PASSWORD, name=name), True


@transaction.atomic
def seed(log=print) -> None:  # type: ignore[no-untyped-def]
    network, _ = Network.objects.get_or_create(
        slug=data.NETWORK["slug"], defaults={"name": data.NETWORK["name"]}
    )
    brands: dict[str, Brand] = {}
    for spec in data.BRANDS:
        brand = Brand.objects.filter(slug=spec["slug"]).first()
        if brand is None:
            brand = do_create_brand(
                network=network,
                slug=spec["slug"],
                fields={**spec["fields"], "logo": _logo(spec)},
                primary_host=spec["hosts"][0],
            )
            for alias in spec["hosts"][1:]:
                do_add_domain(brand, alias, actor=None, actor_role="")
            log(f"brand {brand.name}: http://{spec['hosts'][0]}:PORT/")
        brands[spec["slug"]] = brand

    orgs: dict[str, Organization] = {}
    for spec in data.ORGANIZATIONS:
        org = Organization.objects.filter(slug=spec["slug"]).first()
        if org is None:
            org = do_create_organization(
                network=network,
                kind=spec["kind"],
                name=spec["name"],
                slug=spec["slug"],
                brands=[brands[s] for s in spec["brands"]],
            )
            log(f"organization {org.name}")
        orgs[spec["slug"]] = org

    for email, name, role, scope in data.PEOPLE:
        user, created = _user(email, name)
        kind = ROLE_SCOPE[role]
        do_grant_membership(
            user=user,
            role=role,
            network=network,
            brand=brands[scope] if kind == Scope.BRAND else None,
            organization=orgs[scope] if kind == Scope.ORGANIZATION else None,
        )
        if (
            role_needs_mfa(role)
            and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        ):
            TOTP.activate(user, data.DEMO_TOTP_SECRET)
        if created:
            log(f"{Role(role).label:<20} {email}")
    seed_specialists(brands, log=log)
    seed_scheduling(brands, log=log)
    seed_feedback(brands, log=log)
    seed_care(brands, log=log)
    seed_intake(brands, log=log)
    seed_matching(brands, log=log)
    seed_consents(brands, log=log)
    seed_messaging(brands, log=log)
    seed_video(brands, log=log)
    seed_payments(brands, log=log)
    admin, created = _user(*data.SUPERUSER, superuser=True)
    if created:
        log(f"{'Django admin':<20} {admin.email}")
