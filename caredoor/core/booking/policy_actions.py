"""Saving booking policies: the brand's rules (organization) and a specialist's overrides."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from caredoor.core.booking import policy
from caredoor.core.booking.models import BookingPolicy
from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.specialists.models import SpecialistProfile


def _save(
    brand: Brand,
    profile: SpecialistProfile | None,
    values: dict[str, Any],
    *,
    actor: Any,
    role: str,
    request: HttpRequest | None,
) -> BookingPolicy:
    allowed = tuple(policy.DEFAULTS) if profile is None else policy.OVERRIDABLE
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValidationError(
            _("These settings cannot be changed here: %(names)s")
            % {"names": ", ".join(sorted(unknown))},
            code="unknown_setting",
        )
    values = {k: (None if v == "" else v) for k, v in values.items()}
    policy.validate_values(values)
    with transaction.atomic():
        row, _created = BookingPolicy.objects.select_for_update().get_or_create(
            brand=brand, profile=profile
        )
        for key in allowed:
            if key in values:
                # The mode is a text column: empty means "as the brand says".
                value = values[key]
                setattr(row, key, "" if value is None and key == "self_booking" else value)
        row.save()
        audit.record(
            "booking_policy.saved",
            actor=actor,
            role=role,
            target=row,
            brand=brand,
            request=request,
            data={"profile": profile.pk if profile else None, "values": values},
        )
    return row


def do_save_brand_policy(
    brand: Brand, values: dict[str, Any], *, actor: Any, role: str, request: Any = None
) -> BookingPolicy:
    """The brand's booking rules (views check the actor may manage the brand)."""
    return _save(brand, None, values, actor=actor, role=role, request=request)


def do_save_specialist_policy(
    profile: SpecialistProfile,
    brand: Brand,
    values: dict[str, Any],
    *,
    actor: Any,
    request: Any = None,
) -> BookingPolicy:
    """A specialist's overrides on one brand; empty values inherit the brand's."""
    if getattr(actor, "pk", None) != profile.user_id:
        raise ValidationError(_("You cannot change this specialist's policy."), code="not_allowed")
    if not profile.listings.filter(brand=brand).exists():
        raise ValidationError(_("You are not listed on this service."), code="not_listed")
    return _save(brand, profile, values, actor=actor, role="specialist", request=request)
