"""Every change to brands and domains: validated, atomic, audited."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.fields.files import FieldFile
from django.http import HttpRequest
from django.utils.translation import gettext as _

from caredoor.core.brands.models import Brand, Domain, Network
from caredoor.core.compliance import audit

EDITABLE_FIELDS = (
    "name",
    "tagline",
    "logo",
    "primary_color",
    "accent_color",
    "default_language",
    "languages",
    "time_zone",
    "currency",
    "journey_mode",
    "pricing_mode",
    "fixed_price_minor",
    "billing_model",
    "commission_percent",
    "free_first_session",
    "checkout_hold_minutes",
    "modules",
    "sign_in_methods",
    "visibility",
    "is_active",
)


def _audit_value(value: Any) -> Any:
    if isinstance(value, FieldFile):
        return value.name or ""
    return value


def _check_host_free(host: str) -> str:
    """The normalized host, or ``ValidationError({"host": ...})`` if it is malformed or taken."""
    host = host.strip().lower()
    try:
        Domain(host=host).clean_fields(exclude=["brand"])
    except ValidationError as exc:
        raise ValidationError({"host": exc.message_dict.get("host", exc.messages)}) from None
    if Domain.objects.filter(host=host).exists():
        raise ValidationError({"host": _("This host is already in use.")})
    if host in settings.PLATFORM_HOSTS:
        raise ValidationError({"host": _("This host is reserved for the platform.")})
    return host


@transaction.atomic
def do_create_brand(
    *,
    network: Network,
    slug: str,
    fields: dict[str, Any],
    primary_host: str,
    actor: Any = None,
    actor_role: str = "",
    request: HttpRequest | None = None,
) -> Brand:
    """Create a brand with its primary domain.

    Every problem is reported at once (the brand's fields and the host), as one
    ``ValidationError`` keyed by field (the host under ``"host"``); nothing is written
    then, not even an uploaded logo, which is stored only when the brand is saved.
    """
    brand = Brand(network=network, slug=slug, **fields)
    errors: dict[str, list[ValidationError]] = {}
    try:
        brand.full_clean()
    except ValidationError as exc:
        errors.update(exc.error_dict)
    try:
        host = _check_host_free(primary_host)
    except ValidationError as exc:
        errors.update(exc.error_dict)
    if errors:
        raise ValidationError(errors)
    brand.save()
    _create_domain(brand, host, is_primary=True)
    audit.record(
        "brand.created",
        actor=actor,
        role=actor_role,
        target=brand,
        brand=brand,
        request=request,
        data={"host": host, **{f: _audit_value(getattr(brand, f)) for f in EDITABLE_FIELDS}},
    )
    return brand


def _create_domain(brand: Brand, host: str, *, is_primary: bool) -> Domain:
    try:
        with transaction.atomic():
            return Domain.objects.create(brand=brand, host=host, is_primary=is_primary)
    except IntegrityError:
        # Another request took the host between the check and the insert.
        raise ValidationError({"host": _("This host is already in use.")}) from None


@transaction.atomic
def do_update_brand(
    brand: Brand,
    changes: dict[str, Any],
    *,
    actor: Any,
    actor_role: str,
    request: HttpRequest | None = None,
) -> list[str]:
    """Apply changes to a brand; the audit records each changed field's old and new value.

    ``changes`` may carry a new logo as an uploaded or in-memory file (stored when the brand
    is saved, after validation) or ``""`` to remove it. ``ValidationError`` from the model
    leaves the brand, its files and the audit trail untouched.
    """
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    locked = Brand.objects.select_for_update().get(pk=brand.pk)
    diff = {}
    for field, new in changes.items():
        old = getattr(locked, field)
        if _audit_value(old) != _audit_value(new) or (field == "logo" and new):
            diff[field] = {"from": _audit_value(old), "to": _audit_value(new)}
            setattr(locked, field, new)
    if not diff:
        return []
    locked.full_clean()
    locked.save()
    diff = {f: {**d, "to": _audit_value(getattr(locked, f))} for f, d in diff.items()}
    audit.record(
        "brand.updated",
        actor=actor,
        role=actor_role,
        target=locked,
        brand=locked,
        request=request,
        data={"changes": diff},
    )
    brand.refresh_from_db()
    return list(diff)


@transaction.atomic
def do_add_domain(
    brand: Brand, host: str, *, actor: Any, actor_role: str, request: HttpRequest | None = None
) -> Domain:
    host = _check_host_free(host)
    domain = _create_domain(brand, host, is_primary=False)
    audit.record(
        "domain.added",
        actor=actor,
        role=actor_role,
        target=domain,
        brand=brand,
        request=request,
        data={"host": host},
    )
    return domain


@transaction.atomic
def do_remove_domain(
    domain: Domain, *, actor: Any, actor_role: str, request: HttpRequest | None = None
) -> None:
    locked = Domain.objects.select_for_update().select_related("brand").get(pk=domain.pk)
    if locked.is_primary:
        raise ValidationError(_("Make another domain primary before removing this one."))
    domain = locked
    brand, host = domain.brand, domain.host
    audit.record(
        "domain.removed",
        actor=actor,
        role=actor_role,
        target=domain,
        brand=brand,
        request=request,
        data={"host": host},
    )
    domain.delete()


@transaction.atomic
def do_make_primary(
    domain: Domain, *, actor: Any, actor_role: str, request: HttpRequest | None = None
) -> None:
    domain = Domain.objects.select_for_update().select_related("brand").get(pk=domain.pk)
    if domain.is_primary:
        return
    previous = (
        Domain.objects.select_for_update().filter(brand=domain.brand, is_primary=True).first()
    )
    if previous:
        previous.is_primary = False
        previous.save(update_fields=["is_primary"])
    domain.is_primary = True
    domain.save(update_fields=["is_primary"])
    audit.record(
        "domain.primary_changed",
        actor=actor,
        role=actor_role,
        target=domain,
        brand=domain.brand,
        request=request,
        data={"from": previous.host if previous else None, "to": domain.host},
    )
