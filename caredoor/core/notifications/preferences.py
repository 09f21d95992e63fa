"""How each person wants to hear of things: per brand, per kind group, per channel.

A notification's ``kind`` (``booking.booked``, ``request.declined``, ``message``, ...)
belongs to a group (``group_of``); a person chooses per group and channel. Only choices
that differ from ``DEFAULTS`` are stored (``NotificationPreference`` rows), so a person who
never opened the settings page has no rows, and one query answers for any number of
people (``allowed_users``).

Defaults: in the app on, email on (for messages: the digest, never one email per
message), SMS off. The account group (sign-in links, security notices) is always on in
the app and by email and cannot be switched off (``LOCKED``); it has no SMS.
Unknown kinds count as account notices: a new kind is delivered until someone gives it
a group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.notifications import quiet
from caredoor.core.notifications.models import Channel, KindGroup, NotificationPreference

DEFAULTS: dict[str, bool] = {Channel.IN_APP: True, Channel.EMAIL: True, Channel.SMS: False}

# Groups whose channels a person cannot change, and the value they are held at.
LOCKED: dict[str, dict[str, bool]] = {
    KindGroup.ACCOUNT: {Channel.IN_APP: True, Channel.EMAIL: True, Channel.SMS: False},
}

# Kind prefixes, most specific first: a kind belongs to the first prefix it equals or
# starts with followed by a dot (``booking.reminder`` before ``booking``).
KIND_PREFIXES: tuple[tuple[str, str], ...] = (
    ("message", KindGroup.MESSAGES),
    ("booking.reminder", KindGroup.REMINDERS),
    ("booking", KindGroup.BOOKINGS),
    ("request", KindGroup.BOOKINGS),
    ("matching", KindGroup.BOOKINGS),
    ("consent", KindGroup.DOCUMENTS),
    ("document", KindGroup.DOCUMENTS),
)

# What a person may choose: every group but the locked ones, on every channel.
CHOICES: tuple[tuple[str, str], ...] = tuple(
    (group, channel)
    for group in KindGroup.values
    if group not in LOCKED
    for channel in Channel.values
)


def group_of(kind: str) -> str:
    """The group a notification ``kind`` belongs to (``message`` and ``message.digest``
    are messages; ``booking.reminder`` reminders; other ``booking.*``, ``request.*`` and
    ``matching.*`` bookings; ``consent.*`` documents; anything else account)."""
    for prefix, group in KIND_PREFIXES:
        if kind == prefix or kind.startswith(f"{prefix}."):
            return group
    return KindGroup.ACCOUNT


def default(group: str, channel: str) -> bool:
    if group in LOCKED:
        return LOCKED[group].get(channel, False)
    return DEFAULTS.get(channel, False)


def allows(user: Any, brand: Brand | int, kind: str, channel: str) -> bool:
    """Whether ``user`` wants notices of ``kind`` on ``channel`` on ``brand`` (one query,
    none for locked groups)."""
    return getattr(user, "pk", user) in allowed_users([user], brand, kind, channel)


def allowed_users(users: Iterable[Any], brand: Brand | int, kind: str, channel: str) -> set[int]:
    """The ids of ``users`` (users or ids) who want ``kind`` on ``channel`` on ``brand``:
    one query for any number of people."""
    ids = {getattr(u, "pk", u) for u in users}
    group = group_of(kind)
    if group in LOCKED or not ids:
        return ids if default(group, channel) else set()
    brand_id = getattr(brand, "pk", brand)
    stored = dict(
        NotificationPreference.objects.filter(
            user_id__in=ids, brand_id=brand_id, group=group, channel=channel
        ).values_list("user_id", "enabled")
    )
    on = default(group, channel)
    return {pk for pk in ids if stored.get(pk, on)}


def choices_of(user: Any, brand: Brand) -> dict[tuple[str, str], bool]:
    """Every choosable (group, channel) with the person's current value (one query)."""
    stored = {
        (group, channel): enabled
        for group, channel, enabled in NotificationPreference.objects.filter(
            user=user, brand=brand
        ).values_list("group", "channel", "enabled")
    }
    return {key: stored.get(key, default(*key)) for key in CHOICES}


def do_set_preferences(
    user: Any,
    brand: Brand,
    values: Mapping[tuple[str, str], bool],
    *,
    role: str = "",
    request: HttpRequest | None = None,
) -> dict[str, bool]:
    """Store the person's choices on ``brand``: a value equal to the default removes its
    row, any other is kept. Locked and unknown (group, channel) pairs are ignored; pairs
    not in ``values`` keep their current value. Audited with the changed flags only.
    Returns the changes as ``{"group.channel": value}``."""
    wanted = {key: bool(value) for key, value in values.items() if key in CHOICES}
    with transaction.atomic():
        current = choices_of(user, brand)
        changes = {key: value for key, value in wanted.items() if current[key] != value}
        if not changes:
            return {}
        now = timezone.now()
        for (group, channel), value in changes.items():
            if value == default(group, channel):
                NotificationPreference.objects.filter(
                    user=user, brand=brand, group=group, channel=channel
                ).delete()
            else:
                NotificationPreference.objects.update_or_create(
                    user=user,
                    brand=brand,
                    group=group,
                    channel=channel,
                    defaults={"enabled": value, "updated_at": now},
                )
        flags = {f"{group}.{channel}": value for (group, channel), value in changes.items()}
        audit.record(
            "notifications.preferences_changed",
            actor=user,
            role=role,
            target=user,
            brand=brand,
            request=request,
            data={"changes": flags},
        )
        # A switched channel applies to the next message, not after the quiet window.
        transaction.on_commit(partial(quiet.reset, user.pk), robust=True)
    return flags
