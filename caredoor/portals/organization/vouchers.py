"""Voucher codes of a brand for the operator: the list with their uses, a new voucher, and
ending one. The work is ``payments.vouchers``; these views validate.

Dates are days in the brand's time zone: a voucher applies from the start of its first day
to the end of its last day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.brands.models import Brand
from caredoor.core.payments import brand_finances, pricing
from caredoor.core.payments.access import access_finance_brand, finance_brands
from caredoor.core.payments.models import Voucher, VoucherKind
from caredoor.core.payments.vouchers import do_create_voucher, do_end_voucher
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.finances import chosen_brand, money, parse_amount
from caredoor.portals.organization.forms import ModelErrorsMixin
from caredoor.portals.organization.payouts import DateInput

PORTAL = Portal.ORGANIZATION
NEEDS = Capability.MANAGE_VOUCHERS


class VoucherForm(ModelErrorsMixin, forms.Form):
    error_fields = {"amount_off_minor": "amount_off"}

    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=40,
        help_text=gettext_lazy(
            "What patients type at checkout, for example SPRING25. Letters, digits, - and _; "
            "stored in capitals."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Discount"),
        choices=VoucherKind.choices,
        initial=VoucherKind.PERCENT,
        widget=forms.RadioSelect,
    )
    percent_off = forms.IntegerField(
        label=gettext_lazy("Percent off"),
        required=False,
        min_value=1,
        max_value=100,
        help_text=gettext_lazy("For a percentage: 1 to 100."),
    )
    amount_off = forms.CharField(
        label=gettext_lazy("Amount off"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    valid_from = forms.DateField(
        label=gettext_lazy("First day"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("Empty: from now."),
    )
    valid_until = forms.DateField(
        label=gettext_lazy("Last day"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("Included. Empty: no end."),
    )
    max_uses = forms.IntegerField(
        label=gettext_lazy("Uses in all"),
        required=False,
        min_value=1,
        help_text=gettext_lazy("Empty: no limit."),
    )
    max_uses_per_patient = forms.IntegerField(
        label=gettext_lazy("Uses per patient"), min_value=1, initial=1
    )

    def __init__(self, *args: Any, brand: Brand, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.brand = brand
        self.fields["amount_off"].label = _("Amount off in %(currency)s") % {
            "currency": brand.currency
        }
        self.fields["amount_off"].help_text = _("For a fixed amount, for example %(example)s.") % {
            "example": money(1000, brand.currency).rsplit(" ", 1)[0]
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        percent_missing = data.get("percent_off") is None and "percent_off" not in self.errors
        if kind == VoucherKind.PERCENT and percent_missing:
            self.add_error("percent_off", _("Enter a percentage from 1 to 100."))
        if kind == VoucherKind.FIXED:
            try:
                data["amount_off_minor"] = parse_amount(
                    data.get("amount_off", ""), self.brand.currency
                )
            except ValidationError as exc:
                self.add_error("amount_off", exc)
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The last day must be on or after the first."))
        return data

    def values(self) -> dict[str, Any]:
        data = self.cleaned_data
        zone = ZoneInfo(self.brand.time_zone or "UTC")

        def start_of(day: date | None) -> datetime | None:
            return datetime.combine(day, time.min, tzinfo=zone) if day else None

        fixed = data["kind"] == VoucherKind.FIXED
        return {
            "code": data["code"],
            "kind": data["kind"],
            "percent_off": None if fixed else data.get("percent_off"),
            "amount_off_minor": data.get("amount_off_minor") if fixed else None,
            "valid_from": start_of(data.get("valid_from")),
            # The last day is included: the voucher ends at the next day's start.
            "valid_until": start_of(data["valid_until"] + timedelta(days=1))
            if data.get("valid_until")
            else None,
            "max_uses": data.get("max_uses"),
            "max_uses_per_patient": data["max_uses_per_patient"],
        }


def discount_text(voucher: Voucher, currency: str) -> str:
    if voucher.kind == VoucherKind.PERCENT:
        return _("%(percent)s %% off") % {"percent": voucher.percent_off}
    return _("%(amount)s off") % {"amount": money(voucher.amount_off_minor, currency)}


def state_of(voucher: Voucher, uses: int, now: datetime) -> tuple[str, str]:
    if not voucher.is_active:
        return _("Ended"), "plain"
    if voucher.valid_until and now >= voucher.valid_until:
        return _("Expired"), "plain"
    if voucher.valid_from and now < voucher.valid_from:
        return _("Not yet valid"), "info"
    if voucher.max_uses is not None and uses >= voucher.max_uses:
        return _("Used up"), "warn"
    return _("Active"), "ok"


def voucher_rows(brand: Brand) -> list[dict[str, Any]]:
    now = timezone.now()
    rows = []
    for voucher in brand_finances.vouchers_of(brand):
        uses = pricing.voucher_uses(voucher)
        state, badge = state_of(voucher, uses, now)
        rows.append(
            {
                "voucher": voucher,
                "discount": discount_text(voucher, brand.currency),
                "uses": uses,
                "state": state,
                "badge": badge,
                # The last day shown is the day before the first instant it no longer applies.
                "last_day": voucher.valid_until - timedelta(microseconds=1)
                if voucher.valid_until
                else None,
            }
        )
    return rows


def list_page(
    request: HttpRequest,
    ctx: PortalContext,
    brand: Brand,
    brands: list[Brand],
    form: VoucherForm | None = None,
) -> HttpResponse:
    form = form or VoucherForm(brand=brand)
    return render(
        request,
        "organization/vouchers/list.html",
        {
            "ctx": ctx,
            "target_brand": brand,
            "brands": brands,
            "form": form,
            "rows": voucher_rows(brand),
        },
        status=400 if form.errors else 200,
    )


@portal_view(PORTAL, needs=NEEDS)
@require_GET
def voucher_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brand, brands = chosen_brand(request, ctx)
    return list_page(request, ctx, brand, brands)


@portal_view(PORTAL, needs=NEEDS)
@require_POST
def voucher_create(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    brand = access_finance_brand(ctx.membership, brand_id)
    form = VoucherForm(request.POST, brand=brand)
    if form.is_valid():
        try:
            voucher = do_create_voucher(
                brand, form.values(), request.user, role=ctx.role, request=request
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                _("The voucher %(code)s was created on %(brand)s.")
                % {"code": voucher.code, "brand": brand.name},
            )
            return redirect(f"{reverse('organization:vouchers')}?brand={brand.pk}")
    return list_page(request, ctx, brand, list(finance_brands(ctx.membership)), form)


@portal_view(PORTAL, needs=NEEDS)
@require_POST
def voucher_end(request: HttpRequest, ctx: PortalContext, voucher_id: int) -> HttpResponse:
    voucher = brand_finances.access_voucher(ctx.membership, voucher_id)
    try:
        do_end_voucher(voucher, request.user, role=ctx.role, request=request)
    except ValidationError as exc:
        messages.info(request, exc.messages[0])
    else:
        messages.success(
            request,
            _("The voucher %(code)s has ended: checkout no longer takes it.")
            % {"code": voucher.code},
        )
    return redirect(f"{reverse('organization:vouchers')}?brand={voucher.brand_id}")
