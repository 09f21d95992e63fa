"""The specialist's money: revenue at a glance, their payments and refunds per month (and
site), and the month's sales report as CSV or PDF for bookkeeping.

Reads only, through ``core.payments.reports`` over the specialist's own profile in the
network of the site they are on: the rows are theirs by construction (payments allocated
to that profile), so there is no object in the address to refuse. Each report download is
audited (``core.payments.downloads``).
"""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from caredoor.core.accounts.policy import Portal
from caredoor.core.brands.models import Brand
from caredoor.core.payments import reports
from caredoor.core.payments.downloads import do_record_report_download
from caredoor.core.payments.reports import Month
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.specialists.queries import own_profile
from caredoor.portals.common.access import PortalContext, portal_view

PORTAL = Portal.SPECIALIST
EARLIEST_YEAR = 2000  # older months are not offered (nor served as reports)
OFFERED_MONTHS = 12  # the month picker offers at least this many months


def first_offered(profile: SpecialistProfile, current: Month) -> Month:
    """The oldest month offered: the first payment's, and at least the last twelve."""
    year_ago = current
    for _ in range(OFFERED_MONTHS - 1):
        year_ago = year_ago.previous()
    first = min(reports.first_month(profile) or current, year_ago)
    return max(first, Month(EARLIEST_YEAR, 1))


def month_choices(first: Month, current: Month) -> list[tuple[str, str]]:
    """Every month from ``first`` to ``current``, newest first."""
    choices = []
    month = current
    while month >= first:
        choices.append((month.key, month.label))
        month = month.previous()
    return choices


class FilterForm(forms.Form):
    month = forms.ChoiceField(label=gettext_lazy("Month"), required=False)
    brand = forms.ModelChoiceField(
        label=gettext_lazy("Site"),
        queryset=Brand.objects.none(),
        required=False,
        empty_label=gettext_lazy("All sites"),
    )

    def __init__(self, *args, profile: SpecialistProfile, current: Month, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.current = current
        self.first = first_offered(profile, current)
        self.fields["month"].choices = month_choices(self.first, current)
        self.fields["brand"].queryset = Brand.objects.filter(
            pk__in=[b.pk for b in reports.payment_brands(profile)]
        ).order_by("name")

    def chosen(self) -> tuple[Month, Brand | None]:
        """The month and site asked for; this month and every site for anything invalid."""
        if not self.is_valid():
            month_ok = "month" not in self.errors and self.cleaned_data.get("month")
            brand_ok = "brand" not in self.errors and self.cleaned_data.get("brand")
            return (Month.parse(month_ok) if month_ok else self.current), brand_ok or None
        key = self.cleaned_data.get("month")
        return (Month.parse(key) if key else self.current), self.cleaned_data.get("brand")


def profile_of(request: HttpRequest, ctx: PortalContext) -> SpecialistProfile | None:
    return own_profile(request.user, ctx.membership.network_id)


@portal_view(PORTAL)
@require_GET
def transactions(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = profile_of(request, ctx)
    context: dict = {"ctx": ctx, "profile": profile}
    if profile is not None:
        now = timezone.now()
        summary = reports.revenue_summary(profile, now)
        form = FilterForm(
            request.GET or None,
            initial={"month": summary.month.key},
            profile=profile,
            current=summary.month,
        )
        month, brand = form.chosen() if form.is_bound else (summary.month, None)
        rows = reports.transactions(profile, brand=brand, month=month)
        previous = month.previous()
        context.update(
            form=form,
            summary=summary,
            month=month,
            chosen_site=brand,  # not `brand`: that is the site the page is on
            rows=rows,
            totals=reports.totals_of(rows),
            zone=summary.zone,
            any_payments=reports.has_payments(profile),
            previous=previous if previous >= form.first else None,
            following=month.next() if month < summary.month else None,
        )
    return render(request, "specialist/transactions/list.html", context)


@portal_view(PORTAL)
@require_GET
def sales_report(
    request: HttpRequest, ctx: PortalContext, year: int, month: int, fmt: str
) -> HttpResponse:
    """The month's sales report as a download: ``sales-<yyyy>-<mm>.csv`` or ``.pdf``."""
    profile = profile_of(request, ctx)
    if profile is None or fmt not in ("csv", "pdf"):
        raise Http404
    try:
        period = Month(year, month)
    except ValueError:
        raise Http404 from None
    if not Month(EARLIEST_YEAR, 1) <= period <= Month.of(timezone.now(), reports.zone_of(profile)):
        raise Http404
    report = reports.monthly_report(profile, period.year, period.month)
    if fmt == "csv":
        # With a byte-order mark, so spreadsheet programs read the names as UTF-8.
        body = reports.report_csv(report).encode("utf-8-sig")
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(reports.report_pdf(report), content_type="application/pdf")
    do_record_report_download(
        profile,
        request.user,
        role=ctx.role,
        brand=ctx.brand,
        month=period.key,
        fmt=fmt,
        rows=len(report.rows),
        request=request,
    )
    response["Content-Disposition"] = f'attachment; filename="{report.filename(fmt)}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
