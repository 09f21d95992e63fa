"""Onboarding schemes: the steps and required fields operators configure, validated."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from caredoor.core.brands.models import Brand, Network
from caredoor.core.specialists.choices import DEFAULT_STEPS, PROFILE_FIELDS
from caredoor.core.specialists.models import OnboardingScheme

# The wizard's own pages live beside the steps (/specialist/onboarding/<key>/).
RESERVED_KEYS = frozenset({"submit", "photo"})


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    fields: tuple[str, ...]
    required: frozenset[str]

    @property
    def display_title(self) -> str:
        return _(self.title)  # default titles are in the catalog; custom ones pass through


def validate_steps(steps: object) -> list[dict]:
    """Raise ValidationError unless ``steps`` is a usable scheme; return it normalized."""
    if not isinstance(steps, list) or not steps:
        raise ValidationError(_("Onboarding needs at least one step."))
    seen_keys: set[str] = set()
    seen_fields: set[str] = set()
    out = []
    for raw in steps:
        if not isinstance(raw, dict):
            raise ValidationError(_("Each step must have a key, a title and fields."))
        key = str(raw.get("key", "")).strip()
        title = str(raw.get("title", "")).strip()
        fields = list(raw.get("fields") or [])
        required = list(raw.get("required") or [])
        if not key or not key.replace("_", "").isalnum() or key in seen_keys:
            raise ValidationError(_("Each step needs its own short key (letters and digits)."))
        if key in RESERVED_KEYS:
            raise ValidationError(
                _("“%(key)s” is used by the wizard itself; choose another key.") % {"key": key}
            )
        if not title:
            raise ValidationError(_("Each step needs a title."))
        if not fields:
            raise ValidationError(_("The step “%(title)s” asks for nothing.") % {"title": title})
        unknown = [f for f in fields if f not in PROFILE_FIELDS]
        if unknown:
            raise ValidationError(_("Unknown fields: %(names)s.") % {"names": ", ".join(unknown)})
        twice = [f for f in fields if f in seen_fields]
        if twice:
            raise ValidationError(
                _("Each field belongs to one step only: %(names)s.") % {"names": ", ".join(twice)}
            )
        if not set(required) <= set(fields):
            raise ValidationError(_("A required field must be part of its step."))
        seen_keys.add(key)
        seen_fields.update(fields)
        out.append({"key": key, "title": title, "fields": fields, "required": required})
    if "display_name" not in seen_fields:
        raise ValidationError(_("Onboarding must ask for the name shown to patients."))
    return out


def scheme_for(network: Network, brand: Brand | None) -> list[Step]:
    """The brand's own scheme if it has one, else the network's, else the default."""
    steps = None
    if brand is not None:
        steps = (
            OnboardingScheme.objects.filter(network=network, brand=brand)
            .values_list("steps", flat=True)
            .first()
        )
    if steps is None:
        steps = (
            OnboardingScheme.objects.filter(network=network, brand__isnull=True)
            .values_list("steps", flat=True)
            .first()
        )
    return [
        Step(s["key"], s["title"], tuple(s["fields"]), frozenset(s.get("required", [])))
        for s in (steps or DEFAULT_STEPS)
    ]
