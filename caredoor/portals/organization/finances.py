"""The operator's money per brand: figures for a month or all time, the payments, and one
payment in full (its quote, ledger entries and refunds) with a staff refund.

Money is the network operator's (``payments.access``): these pages answer 404 to anyone
outside the operator organization, a client organization's finance person included. The
brand is chosen on the page among the network's brands (``?brand=``), starting from the
brand of the host when there is one (the platform host's console has none).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.brands.models import Brand
from caredoor.core.brands.money import exponent, format_money
from caredoor.core.payments import brand_finances
from caredoor.core.payments.access import (
    access_brand_payment,
    access_finance_brand,
    finance_brands,
)
from caredoor.core.payments.models import (
    Account,
    Billing,
    Payment,
    RefundReason,
    RefundStatus,
    TxnKind,
)
from caredoor.core.payments.refunds import do_refund
from caredoor.portals.common.access import PortalContext, portal_view

PORTAL = Portal.ORGANIZATION
PER_PAGE = 50
MONTHS_SHOWN = 36
ALL_TIME = "all"


# --- the brand, shared by the finance, payout and voucher pages -----------------------------


def chosen_brand(request: HttpRequest, ctx: PortalContext) -> tuple[Brand, list[Brand]]:
    """The brand a money page is about (``?brand=``, else the host's, else the first) and
    the brands to choose from. 404 when the person may see no brand's money."""
    brands = list(finance_brands(ctx.membership))
    if not brands:
        raise Http404
    raw = request.GET.get("brand", "")
    if raw:
        if not raw.isdigit():
            raise Http404
        return access_finance_brand(ctx.membership, int(raw)), brands
    if ctx.brand is not None:
        for brand in brands:
            if brand.pk == ctx.brand.pk:
                return brand, brands
    return brands[0], brands


def money(amount_minor: int | None, currency: str) -> str:
    return format_money(amount_minor or 0, currency)


def parse_amount(raw: str, currency: str) -> int:
    """``"25.00"`` in ``currency`` -> minor units; ValidationError with a plain reason."""
    text = (raw or "").strip().replace(" ", "")
    places = exponent(currency)
    example = format_money(2500 * 10 ** max(places - 2, 0), currency).rsplit(" ", 1)[0]
    if not text:
        raise ValidationError(_("Enter an amount."), code="required")
    if "," in text and "." not in text and text.count(",") == 1:
        text = text.replace(",", ".")  # a decimal comma
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationError(
            _("Enter an amount as a number, for example %(example)s.") % {"example": example},
            code="invalid",
        ) from None
    if not amount.is_finite():
        raise ValidationError(_("Enter an amount as a number."), code="invalid")
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValidationError(
            _("%(currency)s amounts have at most %(places)s decimal places.")
            % {"currency": currency, "places": places},
            code="precision",
        )
    if scaled <= 0:
        raise ValidationError(_("Enter an amount above zero."), code="min")
    return int(scaled)


# --- the overview ---------------------------------------------------------------------------


def month_choices(brand: Brand) -> list[tuple[str, str]]:
    zone = ZoneInfo(brand.time_zone or "UTC")
    today = timezone.now().astimezone(zone).date()
    first = brand_finances.first_payment_day(brand) or today
    choices = []
    year, month = today.year, today.month
    while (year, month) >= (first.year, first.month) and len(choices) < MONTHS_SHOWN:
        day = date(year, month, 1)
        choices.append((f"{year:04d}-{month:02d}", date_format(day, "YEAR_MONTH_FORMAT")))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return [*choices, (ALL_TIME, _("All time"))]


class OverviewForm(forms.Form):
    brand = forms.TypedChoiceField(label=gettext_lazy("Brand"), coerce=int)
    currency = forms.ChoiceField(label=gettext_lazy("Currency"))
    period = forms.ChoiceField(label=gettext_lazy("Period"))

    def __init__(self, *args: Any, brand: Brand, brands: list[Brand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["brand"].choices = [(b.pk, b.name) for b in brands]
        self.fields["currency"].choices = [(c, c) for c in brand_finances.currencies(brand)]
        self.fields["period"].choices = month_choices(brand)
        self.fields["brand"].initial = brand.pk
        self.fields["currency"].initial = brand.currency
        self.fields["period"].initial = self.fields["period"].choices[0][0]

    def choose(self, query: Any) -> dict[str, str]:
        """What the page shows: each asked-for value that is one of the choices, else the
        default; the form then shows those values (it is never bound: no errors)."""
        chosen = {}
        for name in ("currency", "period"):
            raw = query.get(name, "")
            valid = {str(key) for key, _label in self.fields[name].choices}
            chosen[name] = raw if raw in valid else str(self.fields[name].initial)
            self.initial[name] = chosen[name]
        return chosen


def period_of(brand: Brand, value: str) -> tuple[Any, Any, str]:
    """(since, until, label) for a period choice."""
    if value == ALL_TIME:
        return None, None, _("all time")
    year, month = (int(part) for part in value.split("-"))
    since, until = brand_finances.month_bounds(brand, date(year, month, 1))
    return since, until, date_format(date(year, month, 1), "YEAR_MONTH_FORMAT")


BILLING_SHORT = {
    Billing.PLATFORM: gettext_lazy("Platform"),
    Billing.CONNECT: gettext_lazy("Stripe Connect"),
}


def payment_state(payment: Payment, totals: dict[str, int]) -> tuple[str, str]:
    """(label, badge modifier) of a paid payment in the table."""
    if totals["pending"]:
        return _("Refund pending"), "warn"
    if payment.amount_minor and totals["refunded"] >= payment.amount_minor:
        return _("Refunded"), "info"
    if totals["refunded"]:
        return _("Partly refunded"), "info"
    if totals["failed"]:
        return _("Paid (a refund failed)"), "danger"
    return _("Paid"), "ok"


def figure_rows(figures: brand_finances.Figures, at_end: str) -> list[dict[str, str]]:
    c = figures.currency
    rows = [
        {
            "label": _("Paid by patients"),
            "value": money(figures.gross_minor, c),
            "note": ngettext("%(n)s payment", "%(n)s payments", figures.payments)
            % {"n": figures.payments},
        },
        {
            "label": _("Voucher discounts"),
            "value": money(figures.discounts_minor, c),
            "note": _("taken off list prices, funded by the platform"),
        },
        {
            "label": _("Refunded"),
            "value": money(figures.refunds_minor, c),
            "note": ngettext(
                "%(n)s refund confirmed by Stripe",
                "%(n)s refunds confirmed by Stripe",
                figures.refunds,
            )
            % {"n": figures.refunds},
        },
        {
            "label": _("Platform fees"),
            "value": money(figures.fees_minor, c),
            "note": _("commission, net of refunds"),
        },
        {
            "label": _("Paid out to specialists"),
            "value": money(figures.paid_out_minor, c),
            "note": _("payout lines marked paid"),
        },
    ]
    if figures.connect_minor:
        rows.append(
            {
                "label": _("Sent to specialists' Stripe accounts"),
                "value": money(figures.connect_minor, c),
                "note": _("Stripe Connect, net of refunds"),
            }
        )
    if figures.prepaid_minor:
        rows.append(
            {
                "label": _("Prepaid sessions"),
                "value": money(figures.prepaid_minor, c),
                "note": _("packages bought and not yet used, %(when)s") % {"when": at_end},
            }
        )
    rows += [
        {
            "label": _("Owed to specialists"),
            "value": money(figures.owed_minor, c),
            "note": at_end,
        },
        {
            "label": _("Cash at the payment provider"),
            "value": money(figures.cash_minor, c),
            "note": at_end,
        },
    ]
    return rows


def payment_rows(payments: Any) -> list[dict[str, Any]]:
    rows = []
    for payment in payments:
        totals = brand_finances.refund_totals(payment)
        state, badge = payment_state(payment, totals)
        rows.append(
            {
                "payment": payment,
                "specialist": str(payment.profile),
                "amount": money(payment.amount_minor, payment.currency),
                "refunded": money(totals["refunded"], payment.currency)
                if totals["refunded"]
                else "",
                "state": state,
                "badge": badge,
                "billing": BILLING_SHORT.get(payment.billing, payment.billing),
            }
        )
    return rows


@portal_view(PORTAL, needs=Capability.VIEW_FINANCES)
@require_GET
def overview(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brand, brands = chosen_brand(request, ctx)
    form = OverviewForm(brand=brand, brands=brands)
    chosen = form.choose(request.GET)
    currency, period = chosen["currency"], chosen["period"]
    since, until, period_label = period_of(brand, period)
    if until is None or until > timezone.now():
        at_end = _("now")
    else:
        at_end = _("at the end of %(period)s") % {"period": period_label}
    figures = brand_finances.figures(brand, currency, since, until)
    payments = brand_finances.paid_payments(brand, currency, since, until)
    page = Paginator(payments, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "organization/finances/overview.html",
        {
            "ctx": ctx,
            "target_brand": brand,
            "form": form,
            "figures": figures,
            "figure_rows": figure_rows(figures, at_end),
            "pending_refunds": money(figures.pending_refunds_minor, currency),
            "currency": currency,
            "period_label": period_label,
            "page": page,
            "rows": payment_rows(page),
        },
    )


# --- one payment ----------------------------------------------------------------------------


class RefundForm(forms.Form):
    amount = forms.CharField(
        label=gettext_lazy("Amount to refund"),
        max_length=20,
        error_messages={"required": gettext_lazy("Enter an amount.")},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    note = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        error_messages={"required": gettext_lazy("Say why you are refunding.")},
        help_text=gettext_lazy(
            "Why you are refunding, for the records (for example “session cut short by a "
            "technical problem”). Not shown to the patient; no health details."
        ),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, payment: Payment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.payment = payment
        self.fields["amount"].label = _("Amount to refund in %(currency)s") % {
            "currency": payment.currency
        }
        self.fields["amount"].help_text = _("At most %(left)s is left to refund.") % {
            "left": money(payment.refundable_minor, payment.currency)
        }
        if not self.is_bound:
            self.initial["amount"] = format_money(
                payment.refundable_minor, payment.currency
            ).rsplit(" ", 1)[0]

    def clean_amount(self) -> int:
        amount = parse_amount(self.cleaned_data["amount"], self.payment.currency)
        if amount > self.payment.refundable_minor:
            raise ValidationError(
                _("That is more than is left to refund (%(left)s).")
                % {"left": money(self.payment.refundable_minor, self.payment.currency)},
                code="too_much",
            )
        return amount

    def clean_note(self) -> str:
        note = " ".join(self.cleaned_data["note"].split())
        if not note:
            raise ValidationError(_("Say why you are refunding."), code="required")
        return note


ACCOUNT_LABELS = dict(Account.choices)
KIND_LABELS = dict(TxnKind.choices)


def ledger_rows(payment: Payment) -> list[dict[str, Any]]:
    rows = []
    for txn in payment.transactions.prefetch_related("entries").order_by("created_at", "pk"):
        for entry in txn.entries.all():
            rows.append(
                {
                    "at": txn.created_at,
                    "kind": KIND_LABELS.get(txn.kind, txn.kind),
                    "account": ACCOUNT_LABELS.get(entry.account, entry.account),
                    "debit": money(entry.amount_minor, entry.currency)
                    if entry.amount_minor > 0
                    else "",
                    "credit": money(-entry.amount_minor, entry.currency)
                    if entry.amount_minor < 0
                    else "",
                }
            )
    return rows


def detail_page(
    request: HttpRequest, ctx: PortalContext, payment: Payment, form: RefundForm | None = None
) -> HttpResponse:
    can_refund = ctx.can(Capability.REFUND_PAYMENTS) and payment.refundable_minor > 0
    if can_refund and form is None:
        form = RefundForm(payment=payment)
    refunds = list(payment.refunds.select_related("created_by").order_by("created_at", "pk"))
    for refund in refunds:
        refund.amount_display = money(refund.amount_minor, payment.currency)  # type: ignore[attr-defined]
    lines = [
        {
            "label": line.get("label", ""),
            "amount": money(line.get("amount_minor"), payment.currency),
        }
        for line in payment.lines
        if isinstance(line, dict)
    ]
    return render(
        request,
        "organization/finances/payment.html",
        {
            "ctx": ctx,
            "payment": payment,
            "target_brand": payment.brand,
            "lines": lines,
            "ledger_rows": ledger_rows(payment),
            "billing": BILLING_SHORT.get(payment.billing, payment.billing),
            "refunds": refunds,
            "refund_totals": brand_finances.refund_totals(payment),
            "form": form if can_refund else None,
            "amounts": {
                "list": money(payment.list_minor, payment.currency),
                "discount": money(payment.discount_minor, payment.currency),
                "paid": money(payment.amount_minor, payment.currency),
                "fee": money(payment.fee_minor, payment.currency),
                "share": money(payment.share_minor, payment.currency),
                "refundable": money(payment.refundable_minor, payment.currency),
            },
        },
        status=400 if form is not None and form.errors else 200,
    )


@portal_view(PORTAL, needs=Capability.VIEW_FINANCES)
@require_GET
def payment_detail(request: HttpRequest, ctx: PortalContext, payment_id: int) -> HttpResponse:
    payment = access_brand_payment(ctx.membership, payment_id)
    return detail_page(request, ctx, payment)


@portal_view(PORTAL, needs=Capability.REFUND_PAYMENTS)
@require_POST
def payment_refund(request: HttpRequest, ctx: PortalContext, payment_id: int) -> HttpResponse:
    payment = access_brand_payment(ctx.membership, payment_id)
    form = RefundForm(request.POST, payment=payment)
    if form.is_valid():
        try:
            refund = do_refund(
                payment,
                form.cleaned_data["amount"],
                reason=RefundReason.STAFF,
                note=form.cleaned_data["note"],
                actor=request.user,
                request=request,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for key, errors in exc.error_dict.items():
                    for error in errors:
                        form.add_error(key if key in form.fields else None, error)
            else:
                form.add_error(None, exc)
        else:
            amount = money(refund.amount_minor, payment.currency)
            if refund.status == RefundStatus.SUCCEEDED:
                messages.success(request, _("%(amount)s was refunded.") % {"amount": amount})
            elif refund.status == RefundStatus.FAILED:
                messages.error(
                    request,
                    _("Stripe failed the refund of %(amount)s; nothing was refunded.")
                    % {"amount": amount},
                )
            else:
                messages.info(
                    request,
                    _(
                        "The refund of %(amount)s was sent to Stripe and shows as pending "
                        "until Stripe confirms it."
                    )
                    % {"amount": amount},
                )
            return redirect("organization:finance_payment", payment_id=payment.pk)
    payment.refresh_from_db()
    return detail_page(request, ctx, payment, form)
