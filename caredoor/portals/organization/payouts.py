"""Payout runs for the operator's finance people: the runs of a brand, a new run for a
period, a run's lines with "Mark paid" (the bank transfer's reference), and a CSV of a run
for the bank or the bookkeeping. The work is ``payments.payouts``; these views validate.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.brands.models import Brand
from caredoor.core.brands.money import to_major
from caredoor.core.payments import brand_finances, payouts
from caredoor.core.payments.access import access_finance_brand, finance_brands
from caredoor.core.payments.models import PayoutLine, PayoutRun
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.finances import chosen_brand, money
from caredoor.portals.organization.forms import ModelErrorsMixin

PORTAL = Portal.ORGANIZATION
NEEDS = Capability.MANAGE_PAYOUTS


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class RunForm(ModelErrorsMixin, forms.Form):
    period_start = forms.DateField(label=gettext_lazy("First day"), widget=DateInput())
    period_end = forms.DateField(
        label=gettext_lazy("Last day"),
        widget=DateInput(),
        help_text=gettext_lazy("Included. The period must be over."),
    )
    currency = forms.ChoiceField(label=gettext_lazy("Currency"))

    def __init__(self, *args: Any, brand: Brand, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in brand_finances.currencies(brand)]
        if not self.is_bound:
            self.initial.update(default_period(brand))
            self.initial["currency"] = brand.currency


def default_period(brand: Brand) -> dict[str, date]:
    """The day after the last run of the brand's currency up to yesterday, else last month."""
    yesterday = payouts.today_on(brand) - timedelta(days=1)
    last = payouts.latest_run(brand, brand.currency)
    if last is not None and last.period_end < yesterday:
        return {"period_start": last.period_end + timedelta(days=1), "period_end": yesterday}
    end = payouts.today_on(brand).replace(day=1) - timedelta(days=1)
    return {"period_start": end.replace(day=1), "period_end": end}


def run_rows(runs: Any) -> list[dict[str, Any]]:
    return [
        {
            "run": run,
            "total": money(run.total_minor, run.currency),
            "all_paid": run.paid_count == run.line_count,
        }
        for run in runs
    ]


def list_page(
    request: HttpRequest,
    ctx: PortalContext,
    brand: Brand,
    brands: list[Brand],
    form: RunForm | None = None,
) -> HttpResponse:
    form = form or RunForm(brand=brand)
    return render(
        request,
        "organization/payouts/list.html",
        {
            "ctx": ctx,
            "target_brand": brand,
            "brands": brands,
            "form": form,
            "rows": run_rows(brand_finances.runs_of(brand)),
        },
        status=400 if form.errors else 200,
    )


@portal_view(PORTAL, needs=NEEDS)
@require_GET
def run_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brand, brands = chosen_brand(request, ctx)
    return list_page(request, ctx, brand, brands)


@portal_view(PORTAL, needs=NEEDS)
@require_POST
def run_create(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    brand = access_finance_brand(ctx.membership, brand_id)
    form = RunForm(request.POST, brand=brand)
    if form.is_valid():
        try:
            run = payouts.do_create_payout_run(
                brand,
                form.cleaned_data["currency"],
                form.cleaned_data["period_start"],
                form.cleaned_data["period_end"],
                request.user,
                request,
                role=ctx.role,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                _("The payout run for %(start)s to %(end)s was made.")
                % {"start": run.period_start.isoformat(), "end": run.period_end.isoformat()},
            )
            return redirect("organization:payout_run", run_id=run.pk)
    return list_page(request, ctx, brand, list(finance_brands(ctx.membership)), form)


# --- one run --------------------------------------------------------------------------------


class PaidForm(forms.Form):
    reference = forms.CharField(
        label=gettext_lazy("Payment reference"),
        max_length=payouts.REFERENCE_MAX,
        error_messages={
            "required": gettext_lazy(
                "Enter the payment's reference (for example the bank transfer's)."
            )
        },
    )


def line_rows(run: PayoutRun, failed: PayoutLine | None = None, form: Any = None) -> list[Any]:
    rows = []
    for line in brand_finances.lines_of(run):
        row: dict[str, Any] = {
            "line": line,
            "specialist": str(line.profile),
            "amount": money(line.amount_minor, run.currency),
        }
        if line.paid_at is None:
            mine = failed is not None and failed.pk == line.pk
            row["form"] = form if mine else PaidForm(prefix=f"line-{line.pk}")
        rows.append(row)
    return rows


def run_page(
    request: HttpRequest,
    ctx: PortalContext,
    run: PayoutRun,
    failed: PayoutLine | None = None,
    form: PaidForm | None = None,
) -> HttpResponse:
    rows = line_rows(run, failed, form)
    total = sum(row["line"].amount_minor for row in rows)
    paid = sum(row["line"].amount_minor for row in rows if row["line"].paid_at)
    return render(
        request,
        "organization/payouts/run.html",
        {
            "ctx": ctx,
            "run": run,
            "target_brand": run.brand,
            "rows": rows,
            "total": money(total, run.currency),
            "paid": money(paid, run.currency),
            "outstanding": money(total - paid, run.currency),
            "all_paid": total == paid,
        },
        status=400 if form is not None and form.errors else 200,
    )


@portal_view(PORTAL, needs=NEEDS)
@require_GET
def run_detail(request: HttpRequest, ctx: PortalContext, run_id: int) -> HttpResponse:
    run = brand_finances.access_payout_run(ctx.membership, run_id)
    return run_page(request, ctx, run)


@portal_view(PORTAL, needs=NEEDS)
@require_POST
def line_paid(request: HttpRequest, ctx: PortalContext, line_id: int) -> HttpResponse:
    line = brand_finances.access_payout_line(ctx.membership, line_id)
    form = PaidForm(request.POST, prefix=f"line-{line.pk}")
    if form.is_valid():
        try:
            payouts.do_mark_paid(
                line, form.cleaned_data["reference"], request.user, request, role=ctx.role
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "already_paid":
                messages.info(request, exc.messages[0])
                return redirect("organization:payout_run", run_id=line.run_id)
            for message in exc.messages:
                form.add_error("reference", message)
        else:
            messages.success(
                request,
                _("%(amount)s to %(name)s is marked paid.")
                % {"amount": money(line.amount_minor, line.run.currency), "name": line.profile},
            )
            return redirect("organization:payout_run", run_id=line.run_id)
    return run_page(request, ctx, line.run, line, form)


def csv_cell(value: str) -> str:
    """A spreadsheet must not read a cell as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@portal_view(PORTAL, needs=NEEDS)
@require_GET
def run_csv(request: HttpRequest, ctx: PortalContext, run_id: int) -> HttpResponse:
    run = brand_finances.access_payout_run(ctx.membership, run_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Specialist"),
            _("Specialist id"),
            _("Amount"),
            _("Currency"),
            _("Period start"),
            _("Period end"),
            _("Paid at (UTC)"),
            _("Payment reference"),
        ]
    )
    for line in brand_finances.lines_of(run):
        writer.writerow(
            [
                csv_cell(str(line.profile)),
                line.profile_id,
                str(to_major(line.amount_minor, run.currency)),
                run.currency,
                run.period_start.isoformat(),
                run.period_end.isoformat(),
                line.paid_at.strftime("%Y-%m-%d %H:%M") if line.paid_at else "",
                csv_cell(line.reference),
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"payouts-{run.brand.slug}-{run.period_start}-{run.period_end}-{run.currency}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
