"""Booking policies: brand rules, a specialist's overrides, and the snapshot a booking keeps.

``effective(brand, profile)`` merges ``DEFAULTS`` <- the brand's row <- the specialist's
override row (empty override fields inherit). ``snapshot`` is the part a booking copies
when it is made, so a later change never rewrites what a patient agreed to. The window
checks (``cancellation_terms``, ``may_reschedule``) read only the booking's snapshot.

Window edges: "free cancellation until 24 hours before" means free while
``now <= start - 24 h``; one second later the cancellation is late.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from caredoor.core.booking.models import Booking, BookingPolicy, SelfBooking
from caredoor.core.brands.models import Brand
from caredoor.core.specialists.models import SpecialistProfile

DEFAULTS: dict[str, Any] = {
    "self_booking": SelfBooking.OPEN.value,
    "cancel_notice_hours": 24,
    "reschedule_notice_hours": 24,
    "late_cancel_fee_percent": 50,
    "no_show_fee_percent": 100,
    "proposal_expiry_hours": 48,
    "proposals_require_payment": False,
    "request_response_hours": 48,
    "reminder_offsets_minutes": [24 * 60, 60],
}
# What a specialist may override (reminders are the brand's alone).
OVERRIDABLE: tuple[str, ...] = tuple(k for k in DEFAULTS if k != "reminder_offsets_minutes")
# What a booking keeps.
SNAPSHOT_KEYS: tuple[str, ...] = (
    "cancel_notice_hours",
    "reschedule_notice_hours",
    "late_cancel_fee_percent",
    "no_show_fee_percent",
)
MAX_NOTICE_HOURS = 24 * 14
MAX_REMINDERS = 4


def _fields(row: BookingPolicy | None, keys: tuple[str, ...]) -> dict[str, Any]:
    if row is None:
        return {}
    values = {key: getattr(row, key) for key in keys}
    return {key: value for key, value in values.items() if value not in (None, "")}


def brand_policy(brand: Brand) -> dict[str, Any]:
    row = BookingPolicy.objects.filter(brand=brand, profile__isnull=True).first()
    return {**DEFAULTS, **_fields(row, tuple(DEFAULTS))}


def effective(brand: Brand, profile: SpecialistProfile | int | None) -> dict[str, Any]:
    policy = brand_policy(brand)
    if profile is None:
        return policy
    profile_id = profile if isinstance(profile, int) else profile.pk
    override = BookingPolicy.objects.filter(brand=brand, profile_id=profile_id).first()
    return {**policy, **_fields(override, OVERRIDABLE)}


def snapshot(brand: Brand, profile: SpecialistProfile | int) -> dict[str, Any]:
    policy = effective(brand, profile)
    return {key: policy[key] for key in SNAPSHOT_KEYS}


def validate_values(values: dict[str, Any]) -> None:
    """Bad policy values get clear messages (used by the actions that save policies)."""
    errors: dict[str, str] = {}
    values = {k: v for k, v in values.items() if v not in (None, "")}
    mode = values.pop("self_booking", None)
    if mode is not None and mode not in SelfBooking.values:
        errors["self_booking"] = _("Choose one of the offered options.")
    for key in ("proposals_require_payment",):
        if key in values and not isinstance(values.pop(key), bool):
            errors[key] = _("Yes or no.")
    for key, value in list(values.items()):
        if key != "reminder_offsets_minutes" and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            errors[key] = _("A whole number, 0 or more.")
            values.pop(key)
    for key in ("cancel_notice_hours", "reschedule_notice_hours"):
        if values.get(key) is not None and values[key] > MAX_NOTICE_HOURS:
            errors[key] = _("At most %(n)s hours.") % {"n": MAX_NOTICE_HOURS}
    for key in ("late_cancel_fee_percent", "no_show_fee_percent"):
        if values.get(key) is not None and values[key] > 100:
            errors[key] = _("A percentage from 0 to 100.")
    for key in ("proposal_expiry_hours", "request_response_hours"):
        if values.get(key) is not None and not 1 <= values[key] <= MAX_NOTICE_HOURS:
            errors[key] = _("Between 1 and %(n)s hours.") % {"n": MAX_NOTICE_HOURS}
    offsets = values.get("reminder_offsets_minutes")
    if offsets is not None and (
        not isinstance(offsets, list)
        or len(offsets) > MAX_REMINDERS
        or len(set(offsets)) != len(offsets)
        or not all(isinstance(o, int) and 5 <= o <= 7 * 24 * 60 for o in offsets)
    ):
        errors["reminder_offsets_minutes"] = _(
            "Up to %(n)s different reminders, each between 5 minutes and 7 days before."
        ) % {"n": MAX_REMINDERS}
    if errors:
        raise ValidationError(errors)


@dataclass(frozen=True)
class CancellationTerms:
    free: bool
    fee_percent: int  # 0 when free
    free_until: datetime


def cancellation_terms(booking: Booking, now: datetime) -> CancellationTerms:
    """What cancelling ``booking`` by the patient at ``now`` costs under its own snapshot."""
    hours = booking.policy.get("cancel_notice_hours", DEFAULTS["cancel_notice_hours"])
    free_until = booking.start - timedelta(hours=hours)
    if now <= free_until:
        return CancellationTerms(True, 0, free_until)
    fee = booking.policy.get("late_cancel_fee_percent", DEFAULTS["late_cancel_fee_percent"])
    return CancellationTerms(False, int(fee), free_until)


def reschedule_until(booking: Booking) -> datetime:
    hours = booking.policy.get("reschedule_notice_hours", DEFAULTS["reschedule_notice_hours"])
    return booking.start - timedelta(hours=hours)


def may_reschedule(booking: Booking, now: datetime) -> bool:
    """Whether the patient may still move ``booking`` (the specialist always may)."""
    return now <= reschedule_until(booking)
