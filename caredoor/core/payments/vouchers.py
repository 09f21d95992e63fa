"""Voucher codes of a brand: the operator creates them and ends them (a voucher is never
deleted: payments refer to it). Checkout applies them (``pricing.quote``).

A code is unique on its brand, stored in capitals (letters, digits, ``-`` and ``_``); a
voucher takes a percentage (1-100) or a fixed amount in the brand currency's minor units
off the list price, optionally from / until an instant (``valid_until`` is the first
instant it no longer applies), with a limit of uses in all and per patient.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.payments.models import Voucher, VoucherKind

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,39}$")
FIELDS = (
    "code",
    "kind",
    "percent_off",
    "amount_off_minor",
    "valid_from",
    "valid_until",
    "max_uses",
    "max_uses_per_patient",
)


def _clean(brand: Brand, fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown voucher fields: {sorted(unknown)}")
    values = {name: fields.get(name) for name in FIELDS}
    errors: dict[str, str] = {}
    code = "".join(str(values["code"] or "").split()).upper()
    values["code"] = code
    if not CODE.match(code):
        errors["code"] = _(
            "Use 3 to 40 letters (A-Z), digits, hyphens or underscores, starting with a "
            "letter or digit."
        )
    elif Voucher.objects.filter(brand=brand, code=code).exists():
        errors["code"] = _("This brand already has a voucher %(code)s.") % {"code": code}
    kind = values["kind"]
    if kind == VoucherKind.PERCENT:
        percent = values["percent_off"]
        values["amount_off_minor"] = None
        if percent is None or not 1 <= int(percent) <= 100:
            errors["percent_off"] = _("Enter a percentage from 1 to 100.")
    elif kind == VoucherKind.FIXED:
        amount = values["amount_off_minor"]
        values["percent_off"] = None
        if amount is None or int(amount) < 1:
            errors["amount_off_minor"] = _("Enter an amount above zero.")
    else:
        errors["kind"] = _("Choose a percentage or a fixed amount.")
    start, end = values["valid_from"], values["valid_until"]
    if start is not None and end is not None and end <= start:
        errors["valid_until"] = _("The voucher must end after it starts.")
    if values["max_uses"] is not None and int(values["max_uses"]) < 1:
        errors["max_uses"] = _("Enter at least 1, or leave empty for no limit.")
    if values["max_uses_per_patient"] is None:
        values["max_uses_per_patient"] = 1
    elif int(values["max_uses_per_patient"]) < 1:
        errors["max_uses_per_patient"] = _("Enter at least 1.")
    elif values["max_uses"] is not None and int(values["max_uses_per_patient"]) > int(
        values["max_uses"]
    ):
        errors["max_uses_per_patient"] = _(
            "A patient cannot use it more often than it can be used in all."
        )
    if errors:
        raise ValidationError(errors)
    return values


def do_create_voucher(
    brand: Brand, fields: dict[str, Any], actor: Any, *, role: str = "", request: Any = None
) -> Voucher:
    """Create a voucher on ``brand`` from ``fields`` (the names in ``FIELDS``). Raises
    ValidationError per field (nothing written) for a bad or taken code, a missing or
    out-of-range amount, dates out of order or limits below one."""
    values = _clean(brand, fields)
    try:
        with transaction.atomic():
            voucher = Voucher(brand=brand, **values)
            voucher.full_clean()
            voucher.save()
            audit.record(
                "voucher.created",
                actor=actor,
                role=role,
                target=voucher,
                brand=brand,
                request=request,
                data={
                    "code": voucher.code,
                    "kind": voucher.kind,
                    "percent_off": voucher.percent_off,
                    "amount_off_minor": voucher.amount_off_minor,
                    "valid_from": voucher.valid_from,
                    "valid_until": voucher.valid_until,
                    "max_uses": voucher.max_uses,
                    "max_uses_per_patient": voucher.max_uses_per_patient,
                },
            )
    except IntegrityError:  # the same code, created at the same moment
        raise ValidationError(
            {"code": _("This brand already has a voucher %(code)s.") % {"code": values["code"]}}
        ) from None
    return voucher


def do_end_voucher(voucher: Voucher, actor: Any, *, role: str = "", request: Any = None) -> Voucher:
    """End ``voucher``: checkout no longer accepts it. Payments that used it keep it.
    Ending it again raises ValidationError and changes nothing."""
    with transaction.atomic():
        current = Voucher.objects.select_for_update().get(pk=voucher.pk)
        if not current.is_active:
            raise ValidationError(
                _("The voucher %(code)s has already ended.") % {"code": current.code},
                code="already_ended",
            )
        current.is_active = False
        current.save(update_fields=["is_active"])
        audit.record(
            "voucher.ended",
            actor=actor,
            role=role,
            target=current,
            brand=current.brand,
            request=request,
            data={"code": current.code},
        )
    return current
