"""The specialist's money as they read it: their transactions, revenue at a glance, and a
monthly sales report (CSV and PDF) for bookkeeping (docs/payments.md).

Pure reads over the payments core. A transaction is a paid payment allocated to the
specialist, or a refund of one that succeeded (a negative row). Each row carries the
session's list price, the voucher discount, what the patient paid, the platform's fee and
the specialist's share; a refund's fee, discount and share are read from its own ledger
transaction (the reversal ``posting.post_refund`` wrote), so a report adds up to the
ledger. Months are calendar months in the specialist's time zone (their profile's, else
their account's, else UTC).
"""

from __future__ import annotations

import csv
import io
import logging
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from caredoor.core.brands.models import Brand
from caredoor.core.brands.money import exponent, format_money, to_major
from caredoor.core.payments import ledger
from caredoor.core.payments.access import specialist_payments, specialist_refunds
from caredoor.core.payments.models import Account, Billing, Entry, Refund, TxnKind
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.specialists.queries import public_name

PAYMENT = "payment"
REFUND = "refund"

# A TrueType font that covers names like "Müller" and symbols like "€" (Debian's
# fonts-dejavu-core). Without it the PDF falls back to a core font and Latin-1 text.
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_REGULAR = "DejaVuSans.ttf"
FONT_BOLD = "DejaVuSans-Bold.ttf"


# --- months in the specialist's zone ---------------------------------------------------------


def zone_of(profile: SpecialistProfile) -> ZoneInfo:
    for name in (profile.time_zone, getattr(profile.user, "time_zone", "")):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9998:
            raise ValueError(f"not a month: {self.year}-{self.month}")

    @classmethod
    def of(cls, moment: datetime, zone: ZoneInfo) -> Month:
        local = moment.astimezone(zone)
        return cls(local.year, local.month)

    @classmethod
    def parse(cls, key: str) -> Month:
        """``"2025-03"`` -> ``Month(2025, 3)``; ValueError for anything else."""
        year, _sep, month = key.partition("-")
        if not (len(year) == 4 and year.isdigit() and len(month) == 2 and month.isdigit()):
            raise ValueError(f"not a month: {key!r}")
        return cls(int(year), int(month))

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def start(self, zone: ZoneInfo) -> datetime:
        """Midnight of the month's first day in ``zone`` (an aware datetime)."""
        return datetime(self.year, self.month, 1, tzinfo=zone)

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        return self.start(zone), self.next().start(zone)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    @property
    def label(self) -> str:
        """``"March 2025"`` in the active language."""
        return formats.date_format(self.first_day, "YEAR_MONTH_FORMAT")

    def __str__(self) -> str:
        return self.key


# --- transactions ----------------------------------------------------------------------------


class Amounts:
    """The amounts a row and a total share, formatted in their currency."""

    currency: str
    list_minor: int
    discount_minor: int
    paid_minor: int
    fee_minor: int
    share_minor: int

    def money(self, amount_minor: int) -> str:
        return format_money(amount_minor, self.currency)

    @property
    def list_display(self) -> str:
        return self.money(self.list_minor)

    @property
    def discount_display(self) -> str:
        return self.money(self.discount_minor)

    @property
    def paid_display(self) -> str:
        return self.money(self.paid_minor)

    @property
    def fee_display(self) -> str:
        return self.money(self.fee_minor)

    @property
    def share_display(self) -> str:
        return self.money(self.share_minor)


@dataclass(frozen=True)
class Row(Amounts):
    """One payment (positive amounts) or refund (negative amounts) of the specialist.

    ``list_minor - discount_minor == paid_minor`` on every row; ``share_minor`` is what the
    specialist earns (a refund's is the part of their share it takes back).
    """

    at: datetime
    kind: str  # PAYMENT or REFUND
    brand_id: int
    brand_name: str
    receipt_number: str
    session_start: datetime | None
    session_type: str
    patient: str
    billing: str  # Billing.PLATFORM or Billing.CONNECT
    currency: str
    list_minor: int
    discount_minor: int
    paid_minor: int
    fee_minor: int
    share_minor: int
    payment_id: int
    refund_id: int | None = None

    @property
    def is_refund(self) -> bool:
        return self.kind == REFUND

    @property
    def kind_label(self) -> str:
        return _("Refund") if self.is_refund else _("Payment")

    @property
    def billing_label(self) -> str:
        return _("Stripe Connect") if self.billing == Billing.CONNECT else _("Platform")


def _refund_ledger(refunds: list[Refund], profile_id: int) -> dict[int, dict[str, int]]:
    """What each refund's ledger transaction reversed: {refund id: {"share", "fee",
    "discount"}} as positive minor units (refunds without a transaction are left out).

    Under platform billing the share is the refund's debit on specialist_payable for the
    profile (what the platform no longer owes). Under Stripe Connect the same account also
    carries the reversal of the transfer to the specialist's own account, which is not
    share: there the share is what the rest of the reversal balances, the patient's money
    back plus the discount reversed less the fee reversed (list = share + fee)."""
    if not refunds:
        return {}
    sums: dict[int, dict[str, int]] = {}
    entries = Entry.objects.filter(
        txn__refund_id__in=[r.pk for r in refunds],
        txn__kind=TxnKind.REFUND,
    ).values_list("txn__refund_id", "account", "profile_id", "amount_minor")
    for refund_id, account, entry_profile, amount in entries:
        bucket = sums.setdefault(refund_id, {"payable": 0, "fee": 0, "discount": 0})
        if account == Account.SPECIALIST_PAYABLE:
            if entry_profile == profile_id:
                bucket["payable"] += amount  # the share was a credit: its reversal a debit
        elif account == Account.PLATFORM_FEES:
            bucket["fee"] += amount  # fees were a credit: the reversal is a debit
        elif account == Account.DISCOUNTS:
            bucket["discount"] -= amount  # discounts were a debit
    out: dict[int, dict[str, int]] = {}
    for refund in refunds:
        bucket = sums.get(refund.pk)
        if bucket is None:  # no ledger transaction (never expected)
            continue
        if refund.payment.billing == Billing.CONNECT:
            share = refund.amount_minor + bucket["discount"] - bucket["fee"]
        else:
            share = bucket["payable"]
        out[refund.pk] = {"share": share, "fee": bucket["fee"], "discount": bucket["discount"]}
    return out


def _scaled(value: int, numerator: int, denominator: int) -> int:
    return value * numerator // denominator if denominator else 0


def _rows(
    profile: SpecialistProfile,
    *,
    brand: Brand | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    newest: int | None = None,
) -> list[Row]:
    """Rows oldest first; only the ``newest`` few if given."""
    payments = specialist_payments(profile).select_related("patient").exclude(succeeded_at=None)
    refunds = (
        specialist_refunds(profile)
        .select_related("payment__patient", "payment__booking__session_type")
        .exclude(succeeded_at=None)
    )
    if brand is not None:
        payments = payments.filter(brand=brand)
        refunds = refunds.filter(payment__brand=brand)
    if since is not None:
        payments = payments.filter(succeeded_at__gte=since)
        refunds = refunds.filter(succeeded_at__gte=since)
    if until is not None:
        payments = payments.filter(succeeded_at__lt=until)
        refunds = refunds.filter(succeeded_at__lt=until)
    if newest is not None:
        payments = payments.order_by("-succeeded_at", "-pk")[:newest]
        refunds = refunds.order_by("-succeeded_at", "-pk")[:newest]

    rows: list[Row] = []
    for p in payments:
        booking = p.booking
        rows.append(
            Row(
                at=p.succeeded_at,  # type: ignore[arg-type]
                kind=PAYMENT,
                brand_id=p.brand_id,
                brand_name=p.brand.name,
                receipt_number=p.receipt_number,
                session_start=booking.start if booking else None,
                session_type=booking.session_type.name if booking else "",
                patient=p.patient.display_name,
                billing=p.billing,
                currency=p.currency,
                list_minor=p.list_minor,
                discount_minor=p.discount_minor,
                paid_minor=p.amount_minor,
                fee_minor=p.fee_minor,
                share_minor=p.share_minor,
                payment_id=p.pk,
            )
        )
    refund_list = list(refunds)
    reversed_ = _refund_ledger(refund_list, profile.pk)
    for r in refund_list:
        p = r.payment
        booking = p.booking
        if r.pk in reversed_:
            parts = reversed_[r.pk]
        else:  # no ledger transaction (never expected): the same share of each part
            parts = {
                key: _scaled(value, r.amount_minor, p.amount_minor)
                for key, value in (
                    ("share", p.share_minor),
                    ("fee", p.fee_minor),
                    ("discount", p.discount_minor),
                )
            }
        rows.append(
            Row(
                at=r.succeeded_at,  # type: ignore[arg-type]
                kind=REFUND,
                brand_id=p.brand_id,
                brand_name=p.brand.name,
                receipt_number=p.receipt_number,
                session_start=booking.start if booking else None,
                session_type=booking.session_type.name if booking else "",
                patient=p.patient.display_name,
                billing=p.billing,
                currency=p.currency,
                list_minor=-(r.amount_minor + parts["discount"]),
                discount_minor=-parts["discount"],
                paid_minor=-r.amount_minor,
                fee_minor=-parts["fee"],
                share_minor=-parts["share"],
                payment_id=p.pk,
                refund_id=r.pk,
            )
        )
    rows.sort(key=lambda row: (row.at, row.kind == REFUND, row.refund_id or 0, row.payment_id))
    return rows[-newest:] if newest is not None else rows


def transactions(
    profile: SpecialistProfile,
    *,
    brand: Brand | None = None,
    month: Month | tuple[int, int] | None = None,
) -> list[Row]:
    """The specialist's paid payments and succeeded refunds, on every brand (or ``brand``),
    in one month of their zone (or all), newest first."""
    since = until = None
    if month is not None:
        month = month if isinstance(month, Month) else Month(*month)
        since, until = month.bounds(zone_of(profile))
    return list(reversed(_rows(profile, brand=brand, since=since, until=until)))


def recent(profile: SpecialistProfile, count: int = 5) -> list[Row]:
    """The specialist's ``count`` latest payments and refunds, newest first."""
    return list(reversed(_rows(profile, newest=count))) if count > 0 else []


def first_month(profile: SpecialistProfile) -> Month | None:
    """The month of the specialist's first payment, in their zone."""
    first = specialist_payments(profile).exclude(succeeded_at=None).order_by("succeeded_at").first()
    return Month.of(first.succeeded_at, zone_of(profile)) if first else None  # type: ignore[arg-type]


def payment_brands(profile: SpecialistProfile) -> list[Brand]:
    """The brands on which the specialist has been paid (for a filter)."""
    ids = specialist_payments(profile).values_list("brand_id", flat=True).distinct()
    return list(Brand.objects.filter(pk__in=ids).order_by("name"))


def has_payments(profile: SpecialistProfile) -> bool:
    return specialist_payments(profile).exists()


# --- revenue at a glance ---------------------------------------------------------------------


@dataclass(frozen=True)
class CurrencySummary:
    currency: str
    this_month_minor: int = 0
    last_month_minor: int = 0
    year_minor: int = 0
    sessions_this_month: int = 0
    owed_minor: int = 0  # what the platform owes the specialist now (ledger balance)
    paid_out_minor: int = 0  # payouts made to the specialist so far

    def money(self, amount_minor: int) -> str:
        return format_money(amount_minor, self.currency)

    @property
    def this_month_display(self) -> str:
        return self.money(self.this_month_minor)

    @property
    def last_month_display(self) -> str:
        return self.money(self.last_month_minor)

    @property
    def year_display(self) -> str:
        return self.money(self.year_minor)

    @property
    def owed_display(self) -> str:
        return self.money(self.owed_minor)

    @property
    def paid_out_display(self) -> str:
        return self.money(self.paid_out_minor)


@dataclass(frozen=True)
class RevenueSummary:
    month: Month
    last_month: Month
    year: int
    zone: str
    currencies: tuple[CurrencySummary, ...]


def paid_out(profile: SpecialistProfile) -> dict[str, int]:
    """What payouts have moved to the specialist, per currency (debits on their payable)."""
    rows = (
        Entry.objects.filter(
            account=Account.SPECIALIST_PAYABLE, profile=profile, txn__kind=TxnKind.PAYOUT
        )
        .values("currency")
        .annotate(total=Sum("amount_minor"))
        .order_by("currency")
    )
    return {row["currency"]: row["total"] for row in rows if row["total"]}


def owed(profile: SpecialistProfile) -> dict[str, int]:
    """What the platform owes the specialist now, per currency: the specialist-payable
    balance for the profile (a liability: credits are what is owed)."""
    return {
        currency: -total
        for currency, total in ledger.balance(
            Account.SPECIALIST_PAYABLE, profile_id=profile.pk
        ).items()
    }


def revenue_summary(profile: SpecialistProfile, now: datetime | None = None) -> RevenueSummary:
    """Net share this month, last month and this year, paid sessions this month, what the
    platform owes and what it has paid out, per currency."""
    now = now or timezone.now()
    zone = zone_of(profile)
    this = Month.of(now, zone)
    last = this.previous()
    year_start = Month(this.year, 1)
    rows = _rows(profile, since=min(year_start, last).start(zone), until=this.next().start(zone))
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        month = Month.of(row.at, zone)
        bucket = sums[row.currency]
        if month == this:
            bucket["this"] += row.share_minor
            bucket["sessions"] += 0 if row.is_refund else 1
        elif month == last:
            bucket["last"] += row.share_minor
        if month.year == this.year:
            bucket["year"] += row.share_minor
    owed_now = owed(profile)
    payouts = paid_out(profile)
    currencies = sorted({*sums, *owed_now, *payouts})
    return RevenueSummary(
        month=this,
        last_month=last,
        year=this.year,
        zone=zone.key,
        currencies=tuple(
            CurrencySummary(
                currency=c,
                this_month_minor=sums[c]["this"],
                last_month_minor=sums[c]["last"],
                year_minor=sums[c]["year"],
                sessions_this_month=sums[c]["sessions"],
                owed_minor=owed_now.get(c, 0),
                paid_out_minor=payouts.get(c, 0),
            )
            for c in currencies
        ),
    )


# --- the monthly sales report ----------------------------------------------------------------


@dataclass(frozen=True)
class Totals(Amounts):
    currency: str
    payments: int = 0
    refunds: int = 0
    list_minor: int = 0
    discount_minor: int = 0
    paid_minor: int = 0
    fee_minor: int = 0
    share_minor: int = 0


@dataclass(frozen=True)
class MonthlyReport:
    specialist: str
    month: Month
    zone: str
    rows: tuple[Row, ...]  # oldest first
    totals: tuple[Totals, ...] = field(default=())
    created_at: datetime | None = None

    def filename(self, extension: str) -> str:
        return f"sales-{self.month.year:04d}-{self.month.month:02d}.{extension}"


def totals_of(rows: Iterable[Row]) -> tuple[Totals, ...]:
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        bucket = sums[row.currency]
        bucket["refunds" if row.is_refund else "payments"] += 1
        bucket["list_minor"] += row.list_minor
        bucket["discount_minor"] += row.discount_minor
        bucket["paid_minor"] += row.paid_minor
        bucket["fee_minor"] += row.fee_minor
        bucket["share_minor"] += row.share_minor
    return tuple(Totals(currency=c, **sums[c]) for c in sorted(sums))


def specialist_name(profile: SpecialistProfile) -> str:
    return public_name(profile)


def monthly_report(
    profile: SpecialistProfile, year: int, month: int, *, now: datetime | None = None
) -> MonthlyReport:
    """Every payment and refund of the specialist in one month of their zone, oldest first,
    with totals per currency."""
    period = Month(year, month)
    zone = zone_of(profile)
    since, until = period.bounds(zone)
    rows = tuple(_rows(profile, since=since, until=until))
    return MonthlyReport(
        specialist=specialist_name(profile),
        month=period,
        zone=zone.key,
        rows=rows,
        totals=totals_of(rows),
        created_at=now or timezone.now(),
    )


def columns() -> list[str]:
    return [
        _("Date"),
        _("Type"),
        _("Site"),
        _("Receipt number"),
        _("Session date"),
        _("Session type"),
        _("Patient"),
        _("Billing"),
        _("Currency"),
        _("List price"),
        _("Voucher discount"),
        _("Paid by the patient"),
        _("Platform fee"),
        _("Your share"),
    ]


def decimal_text(amount_minor: int, currency: str) -> str:
    """Minor units as a plain decimal with a dot: ``9000, "EUR"`` -> ``"90.00"``."""
    places = exponent(currency)
    return f"{to_major(amount_minor, currency):.{places}f}"


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def _cell_text(value: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def report_csv(report: MonthlyReport) -> str:
    """The report as CSV: a header row, one row per transaction, a total row per currency.
    Amounts are decimals in major units with a dot; dates in the specialist's zone."""
    zone = ZoneInfo(report.zone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns())
    for row in report.rows:
        c = row.currency
        writer.writerow(
            [
                _local(row.at, zone),
                row.kind_label,
                _cell_text(row.brand_name),
                _cell_text(row.receipt_number),
                _local(row.session_start, zone),
                _cell_text(row.session_type),
                _cell_text(row.patient),
                row.billing_label,
                c,
                decimal_text(row.list_minor, c),
                decimal_text(row.discount_minor, c),
                decimal_text(row.paid_minor, c),
                decimal_text(row.fee_minor, c),
                decimal_text(row.share_minor, c),
            ]
        )
    for total in report.totals:
        c = total.currency
        writer.writerow(
            [
                _("Total"),
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                c,
                decimal_text(total.list_minor, c),
                decimal_text(total.discount_minor, c),
                decimal_text(total.paid_minor, c),
                decimal_text(total.fee_minor, c),
                decimal_text(total.share_minor, c),
            ]
        )
    return out.getvalue()


# --- PDF -------------------------------------------------------------------------------------

_LATIN1_SWAPS = {
    "€": "EUR",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2026": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "Ħ": "H",
    "ħ": "h",
}


def latin1(text: str) -> str:
    """``text`` in Latin-1 for a core PDF font: characters Latin-1 has stay ("Müller"),
    a few common symbols are spelled out ("€" -> "EUR"), accented letters lose their accent
    ("Łódź" -> "Lódz"), anything else becomes "?"."""
    out = []
    for char in text:
        if char in _LATIN1_SWAPS:
            out.append(_LATIN1_SWAPS[char])
            continue
        try:
            char.encode("latin-1")
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(plain or "?")
        else:
            out.append(char)
    return "".join(out)


def _pdf(title: str) -> tuple[Any, str, Any]:
    """A landscape A4 document, its font family, and a text filter for that font."""
    from fpdf import FPDF

    # Subsetting the embedded font logs every glyph table at INFO: not for the app's log.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    footer_label = _("Page")

    class ReportPDF(FPDF):  # type: ignore[misc]
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(size=7)
            self.set_text_color(90, 90, 90)
            self.cell(0, 6, clean(f"{title} · {footer_label} {self.page_no()}/{{nb}}"), align="R")

    pdf = ReportPDF(orientation="L", unit="mm", format="A4")
    pdf.set_compression(False)  # text stays readable in the file (tests, archiving tools)
    pdf.set_margins(10, 12, 10)
    pdf.set_auto_page_break(auto=True, margin=16)
    regular, bold = FONT_DIR / FONT_REGULAR, FONT_DIR / FONT_BOLD
    if regular.is_file() and bold.is_file():
        pdf.add_font("DejaVu", "", str(regular))
        pdf.add_font("DejaVu", "B", str(bold))
        family = "DejaVu"

        def clean(text: str) -> str:
            return text

    else:
        family = "Helvetica"
        clean = latin1
    pdf.set_font(family, size=8)
    return pdf, family, clean


def report_pdf(report: MonthlyReport) -> bytes:
    """The report as a PDF: title, specialist, period, the table and the totals."""
    from fpdf.fonts import FontFace

    zone = ZoneInfo(report.zone)
    title = _("Sales report %(month)s") % {"month": report.month.label}
    pdf, family, clean = _pdf(title)
    pdf.set_title(clean(title))
    pdf.set_author(clean(report.specialist))
    pdf.set_creator("Caredoor")
    pdf.add_page()

    pdf.set_font(family, "B", 15)
    pdf.cell(0, 8, clean(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9)
    since, until = report.month.bounds(zone)
    last_day = (until.date() - since.date()).days
    facts = [
        (_("Specialist"), report.specialist),
        (
            _("Period"),
            _("%(start)s to %(end)s (times in %(zone)s)")
            % {
                "start": formats.date_format(since.date(), "DATE_FORMAT"),
                "end": formats.date_format(
                    date(report.month.year, report.month.month, last_day), "DATE_FORMAT"
                ),
                "zone": report.zone,
            },
        ),
    ]
    if report.created_at is not None:
        facts.append(
            (_("Created"), _local(report.created_at, zone)),
        )
    for label, value in facts:
        pdf.cell(0, 5, clean(f"{label}: {value}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    if not report.rows:
        pdf.set_font(family, "", 10)
        pdf.cell(0, 8, clean(_("No payments or refunds in this month.")))
        return bytes(pdf.output())

    headings = [
        _("Date"),
        _("Type"),
        _("Site"),
        _("Receipt number"),
        _("Session"),
        _("Patient"),
        _("Billing"),
        _("List price"),
        _("Voucher discount"),
        _("Paid by the patient"),
        _("Platform fee"),
        _("Your share"),
    ]
    widths = (26, 17, 22, 32, 28, 27, 16, 21, 20, 21, 21, 26)
    align = ("LEFT",) * 7 + ("RIGHT",) * 5
    pdf.set_font(family, "", 7.5)
    pdf.set_draw_color(190, 196, 204)
    pdf.set_line_width(0.2)
    bold = FontFace(emphasis="BOLD", fill_color=(246, 247, 249))
    heading_style = FontFace(emphasis="BOLD", fill_color=(235, 238, 242))
    with pdf.table(
        col_widths=widths,
        text_align=align,
        headings_style=heading_style,
        line_height=4,
        padding=(1.2, 1),
        repeat_headings=1,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        heading = table.row()
        for text in headings:
            heading.cell(clean(text))
        for row in report.rows:
            session = _local(row.session_start, zone)
            if row.session_type:
                session = f"{session}\n{row.session_type}" if session else row.session_type
            cells = [
                _local(row.at, zone),
                row.kind_label,
                row.brand_name,
                row.receipt_number,
                session,
                row.patient,
                row.billing_label,
                row.list_display,
                row.discount_display,
                row.paid_display,
                row.fee_display,
                row.share_display,
            ]
            line = table.row()
            for text in cells:
                line.cell(clean(text))
        for total in report.totals:
            line = table.row(style=bold)
            line.cell(clean(_("Total %(currency)s") % {"currency": total.currency}), colspan=7)
            for amount in (
                total.list_minor,
                total.discount_minor,
                total.paid_minor,
                total.fee_minor,
                total.share_minor,
            ):
                line.cell(clean(total.money(amount)))

    pdf.ln(4)
    pdf.set_font(family, "B", 10)
    for total in report.totals:
        pdf.cell(
            0,
            6,
            clean(
                _("Your share in %(month)s: %(amount)s")
                % {"month": report.month.label, "amount": total.money(total.share_minor)}
            ),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_font(family, "", 9)
        counts = "{payments}, {refunds}; {paid}".format(
            payments=ngettext("%(count)s payment", "%(count)s payments", total.payments)
            % {"count": total.payments},
            refunds=ngettext("%(count)s refund", "%(count)s refunds", total.refunds)
            % {"count": total.refunds},
            paid=_("paid by patients %(amount)s") % {"amount": total.money(total.paid_minor)},
        )
        pdf.cell(0, 5, clean(counts), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "B", 10)
    return bytes(pdf.output())
