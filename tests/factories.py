"""Builders for test data. They go through the real actions, so tests exercise them too."""

from __future__ import annotations

import itertools
from typing import Any

from allauth.mfa.totp.internal.auth import TOTP

from caredoor.core.accounts.actions import do_grant_membership
from caredoor.core.accounts.models import Membership, User
from caredoor.core.accounts.policy import ROLE_SCOPE, Scope, role_needs_mfa
from caredoor.core.brands.actions import do_create_brand
from caredoor.core.brands.models import Brand, Network
from caredoor.core.organizations.actions import do_create_organization
from caredoor.core.organizations.models import Organization

PASSWORD = "correct-horse-battery-9"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DP"
_seq = itertools.count(1)


def brand_fields(**overrides: Any) -> dict[str, Any]:
    n = next(_seq)
    fields: dict[str, Any] = {
        "name": f"Brand {n}",
        "primary_color": "#1f4e79",
        "accent_color": "#0f766e",
        "default_language": "en",
        "languages": ["en", "de"],
        "time_zone": "Europe/Berlin",
        "currency": "EUR",
        "journey_mode": "directory",
        "pricing_mode": "specialist_set",
        "billing_model": "platform",
        "modules": ["booking", "video", "messaging"],
        "sign_in_methods": ["password", "email_code", "magic_link"],
        "visibility": "public",
    }
    fields.update(overrides)
    return fields


def make_network(slug: str | None = None) -> Network:
    slug = slug or f"net-{next(_seq)}"
    return Network.objects.create(slug=slug, name=slug.title())


def make_brand(network: Network, host: str, slug: str | None = None, **fields: Any) -> Brand:
    return do_create_brand(
        network=network,
        slug=slug or host.split(".")[0],
        fields=brand_fields(**fields),
        primary_host=host,
    )


def make_org(
    network: Network, kind: str, brands: list[Brand] | None = None, slug: str | None = None
) -> Organization:
    slug = slug or f"{kind}-{next(_seq)}"
    return do_create_organization(
        network=network,
        kind=kind,
        name=slug.replace("-", " ").title(),
        slug=slug,
        brands=brands or [],
    )


def make_user(email: str | None = None, **extra: Any) -> User:
    email = email or f"user{next(_seq)}@example.test"
    return User.objects.create_user(email, PASSWORD, **extra)


def grant(
    user: User,
    role: str,
    *,
    network: Network,
    brand: Brand | None = None,
    organization: Organization | None = None,
) -> Membership:
    scope = ROLE_SCOPE[role]
    membership = do_grant_membership(
        user=user,
        role=role,
        network=network,
        brand=brand if scope == Scope.BRAND else None,
        organization=organization if scope == Scope.ORGANIZATION else None,
    )
    if role_needs_mfa(role) and not user.authenticator_set.exists():
        TOTP.activate(user, TOTP_SECRET)
    return membership


def totp_now(secret: str = TOTP_SECRET) -> str:
    # A code taken in the last seconds of its period may expire before the server checks
    # it (browser tests type it in): wait for a fresh period then.
    import time

    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        hotp_value,
        yield_hotp_counters_from_time,
    )
    from django.conf import settings

    period = getattr(settings, "MFA_TOTP_PERIOD", 30)
    left = period - time.time() % period
    if left < 3:
        time.sleep(left + 0.1)
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))
