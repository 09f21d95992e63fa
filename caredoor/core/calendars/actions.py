"""Calendar feed changes: create, regenerate, revoke. Each atomic and audited.

The token appears only in the return value (and, encrypted, in the row): never in the
audit trail, log lines or exceptions.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from caredoor.core.accounts.policy import Role
from caredoor.core.calendars.models import CalendarFeed
from caredoor.core.compliance import audit, crypto
from caredoor.core.specialists.models import SpecialistProfile

TOKEN_BYTES = 32  # 256 bits: 43 URL-safe characters


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_secret() -> tuple[str, str, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_token(token), crypto.encrypt_text(token)


def _lock(profile: SpecialistProfile) -> None:
    """One change at a time per profile (PostgreSQL; SQLite's IMMEDIATE transaction already
    holds the write lock), so two clicks never make two feeds."""
    list(SpecialistProfile.objects.select_for_update().filter(pk=profile.pk).values_list("pk"))


def _record(
    action: str,
    feed: CalendarFeed,
    *,
    actor: Any,
    role: str,
    request: HttpRequest | None,
) -> None:
    audit.record(
        action,
        actor=actor,
        role=role,
        target=feed,
        brand=getattr(request, "brand", None),
        request=request,
        data={"profile": feed.profile_id},
    )


def _create(
    profile: SpecialistProfile, *, actor: Any, role: str, request: HttpRequest | None
) -> CalendarFeed:
    _token, digest, encrypted = _new_secret()
    feed = CalendarFeed(profile=profile, token_hash=digest, token_encrypted=encrypted)
    feed.full_clean()
    feed.save()
    _record("calendar_feed.created", feed, actor=actor, role=role, request=request)
    return feed


@transaction.atomic
def do_create_feed(
    profile: SpecialistProfile,
    *,
    actor: Any,
    role: str = Role.SPECIALIST,
    request: HttpRequest | None = None,
) -> CalendarFeed:
    """The profile's feed, made now if it has none (idempotent: an existing feed and its URL
    are kept). ``feed.token`` is the secret of the URL."""
    _lock(profile)
    existing = CalendarFeed.objects.filter(profile=profile).first()
    if existing is not None:
        return existing
    return _create(profile, actor=actor, role=role, request=request)


@transaction.atomic
def do_regenerate_feed(
    profile: SpecialistProfile,
    *,
    actor: Any,
    role: str = Role.SPECIALIST,
    request: HttpRequest | None = None,
) -> CalendarFeed:
    """A new secret for the profile's feed: the old URL stops working when this commits.
    Without a feed (revoked in another tab, say) a new one is made."""
    _lock(profile)
    feed = CalendarFeed.objects.filter(profile=profile).first()
    if feed is None:
        return _create(profile, actor=actor, role=role, request=request)
    _token, feed.token_hash, feed.token_encrypted = _new_secret()
    feed.created_at = timezone.now()
    feed.full_clean()
    feed.save(update_fields=["token_hash", "token_encrypted", "created_at"])
    _record("calendar_feed.regenerated", feed, actor=actor, role=role, request=request)
    return feed


@transaction.atomic
def do_revoke_feed(
    profile: SpecialistProfile,
    *,
    actor: Any,
    role: str = Role.SPECIALIST,
    request: HttpRequest | None = None,
) -> bool:
    """Remove the profile's feed: its URL answers 404 from now on. Returns whether there was
    one (revoking twice records one event)."""
    _lock(profile)
    feed = CalendarFeed.objects.filter(profile=profile).first()
    if feed is None:
        return False
    _record("calendar_feed.revoked", feed, actor=actor, role=role, request=request)
    feed.delete()
    return True
