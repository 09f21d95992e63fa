"""A patient's receipt for a paid payment, as a PDF (fpdf2).

The receipt names the brand, its number (``Payment.receipt_number``), when it was paid, who
it is billed to, the session (type, time, specialist), the quote's lines as the patient saw
them, the total, the method, who charged it, the refunds made since and what is left paid.
Nothing clinical: no notes, intake answers or messages, only the session type's name.

It is written in the patient's language when the brand offers it (else the brand's
default) and shows times in the patient's zone (else the brand's). Text is set in DejaVu
Sans when the system has it (any script); otherwise in a core PDF font, with characters
outside Latin-1 transliterated ("Łódź" -> "Lódz"), so a receipt is always produced.
The PDF is not compressed: its text can be searched and tested.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import dateformat, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from caredoor.core.brands.money import format_money
from caredoor.core.payments.models import Billing, Payment, RefundStatus
from caredoor.core.specialists.queries import public_name

# fontTools reports every font subset at INFO: one receipt would write dozens of lines.
logging.getLogger("fontTools").setLevel(logging.WARNING)

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
CORE_FONT = "Helvetica"

# Characters a core font lacks that have a plain equivalent.
PLAIN = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u202f": " ",
        "\u2009": " ",
        "\u00a0": " ",
        "\u0141": "L",
        "\u0142": "l",
        "\u00d8": "O",
        "\u00f8": "o",
        "\u0110": "D",
        "\u0111": "d",
    }
)


def unicode_font_available() -> bool:
    return all((FONT_DIR / name).is_file() for name in FONT_FILES.values())


def transliterate(text: str) -> str:
    """``text`` in Latin-1 (what a core PDF font can show): characters Latin-1 has stay
    ("Müller"), others lose their accents ("Łódź" -> "Lódz") or become "?"."""
    out = []
    for char in str(text).translate(PLAIN):
        try:
            char.encode("latin-1")
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(plain or "?")
        else:
            out.append(char)
    return "".join(out)


def language_for(payment: Payment) -> str:
    chosen = payment.patient.language or ""
    brand = payment.brand
    return chosen if chosen in (brand.languages or []) else brand.default_language


def zone_for(payment: Payment) -> ZoneInfo:
    for name in (payment.patient.time_zone, payment.brand.time_zone):
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def zone_name(zone: ZoneInfo) -> str:
    return zone.key.replace("_", " ")


def day_and_time(moment: datetime, zone: ZoneInfo) -> str:
    return dateformat.format(
        moment.astimezone(zone), pgettext("date format: a receipt's date and time", "j M Y, H:i")
    )


def moment_text(moment: datetime, zone: ZoneInfo) -> str:
    """``3 Mar 2025, 14:05 (Europe/Berlin)``."""
    return f"{day_and_time(moment, zone)} ({zone_name(zone)})"


def session_text(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """``3 Mar 2025, 10:00-10:50 (Europe/Berlin)``, with an en dash."""
    until = dateformat.format(end.astimezone(zone), "H:i")
    return f"{day_and_time(start, zone)}\u2013{until} ({zone_name(zone)})"


def day_text(moment: datetime, zone: ZoneInfo) -> str:
    return dateformat.format(
        moment.astimezone(zone), pgettext("date format: a receipt's date", "j M Y")
    )


@dataclass(frozen=True)
class Line:
    label: str
    amount: str


@dataclass(frozen=True)
class ReceiptData:
    """What a receipt says, in words (already translated and formatted)."""

    brand: str
    host: str
    number: str
    paid_at: str
    billed_name: str
    billed_email: str
    session_type: str
    session_when: str
    specialist: str
    lines: tuple[Line, ...]
    total: str
    method: str
    charged_by: str
    refunds: tuple[Line, ...]
    net: str
    color: str = ""  # the brand's primary colour, #rrggbb


def receipt_data(payment: Payment) -> ReceiptData:
    """The receipt's content for ``payment`` (paid), in the active language."""
    if not payment.is_paid or not payment.receipt_number:
        raise ValueError("only a paid payment has a receipt")
    zone = zone_for(payment)
    money = payment.currency
    booking = payment.booking
    specialist = public_name(payment.profile)
    refunds = sorted(
        (r for r in payment.refunds.all() if r.status != RefundStatus.FAILED),
        key=lambda r: (r.succeeded_at or r.created_at, r.pk),
    )
    refunded = sum(r.amount_minor for r in refunds if r.status == RefundStatus.SUCCEEDED)
    refund_lines = []
    for refund in refunds:
        on = day_text(refund.succeeded_at or refund.created_at, zone)
        if refund.status == RefundStatus.SUCCEEDED:
            label = _("Refund on %(date)s") % {"date": on}
        else:
            label = _("Refund of %(date)s (in progress)") % {"date": on}
        refund_lines.append(Line(label, format_money(-refund.amount_minor, money)))
    if payment.billing == Billing.CONNECT:
        charged_by = _("%(brand)s on behalf of %(specialist)s") % {
            "brand": payment.brand.name,
            "specialist": specialist,
        }
    else:
        charged_by = payment.brand.name
    domain = payment.brand.primary_domain
    assert payment.succeeded_at is not None
    return ReceiptData(
        brand=payment.brand.name,
        host=domain.host if domain else "",
        number=payment.receipt_number,
        paid_at=moment_text(payment.succeeded_at, zone),
        billed_name=payment.patient.display_name,
        billed_email=payment.patient.email,
        session_type=booking.session_type.name if booking else "",
        session_when=session_text(booking.start, booking.end, zone) if booking else "",
        specialist=specialist,
        lines=tuple(
            Line(str(line.get("label", "")), format_money(int(line.get("amount_minor", 0)), money))
            for line in payment.lines
        ),
        total=format_money(payment.amount_minor, money),
        method=_("Card"),
        charged_by=charged_by,
        refunds=tuple(refund_lines),
        net=format_money(payment.amount_minor - refunded, money),
        color=payment.brand.primary_color,
    )


class ReceiptPDF(FPDF):
    def __init__(self, unicode_font: bool) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.unicode_font = unicode_font
        self.family = "DejaVu" if unicode_font else CORE_FONT
        if unicode_font:
            for style, name in FONT_FILES.items():
                self.add_font("DejaVu", style, str(FONT_DIR / name))
        self.set_compression(False)
        self.set_margins(20, 20, 20)
        self.set_auto_page_break(auto=True, margin=20)

    def text_of(self, text: str) -> str:
        return str(text) if self.unicode_font else transliterate(text)

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def line_text(self, text: str, *, size: float = 10, bold: bool = False, h: float = 5.5) -> None:
        self.font(size, bold)
        self.multi_cell(0, h, self.text_of(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str) -> None:
        self.ln(4)
        self.line_text(text, size=11, bold=True, h=6.5)

    def pair(self, label: str, value: str, *, bold: bool = False) -> None:
        """A label and an amount on one line, the amount aligned right."""
        width = self.w - self.l_margin - self.r_margin
        self.font(10, bold)
        y = self.get_y()
        self.multi_cell(
            width - 45, 6, self.text_of(label), align="L", new_x=XPos.RIGHT, new_y=YPos.TOP
        )
        after_label = self.get_y()
        self.set_xy(self.l_margin + width - 45, y)
        self.cell(45, 6, self.text_of(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(max(after_label, y + 6))

    def detail(self, label: str, value: str) -> None:
        self.font(10, True)
        self.cell(42, 5.5, self.text_of(label), new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.font(10)
        self.multi_cell(0, 5.5, self.text_of(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def rule(self) -> None:
        self.set_draw_color(200, 200, 200)
        y = self.get_y() + 1
        self.line(self.l_margin, y, self.w - self.r_margin, y)
        self.set_y(y + 2)


def render(data: ReceiptData, *, unicode_font: bool | None = None) -> bytes:
    pdf = ReceiptPDF(unicode_font_available() if unicode_font is None else unicode_font)
    pdf.set_title(pdf.text_of(_("Receipt %(number)s") % {"number": data.number}))
    pdf.set_author(pdf.text_of(data.brand))
    pdf.set_creator("Caredoor")
    pdf.add_page()
    if re.fullmatch(r"#[0-9a-fA-F]{6}", data.color or ""):
        pdf.set_fill_color(*(int(data.color[i : i + 2], 16) for i in (1, 3, 5)))
        pdf.rect(0, 0, pdf.w, 5, style="F")
    pdf.line_text(data.brand, size=18, bold=True, h=9)
    if data.host:
        pdf.line_text(data.host, size=9)
    pdf.ln(3)
    pdf.line_text(_("Receipt"), size=14, bold=True, h=8)
    pdf.detail(_("Receipt number"), data.number)
    pdf.detail(_("Date paid"), data.paid_at)

    pdf.heading(_("Billed to"))
    pdf.line_text(data.billed_name)
    pdf.line_text(data.billed_email)

    if data.session_type:
        pdf.heading(_("Session"))
        pdf.detail(_("Session type"), data.session_type)
        pdf.detail(_("Date and time"), data.session_when)
        pdf.detail(_("Specialist"), data.specialist)

    pdf.heading(_("Details"))
    for line in data.lines:
        pdf.pair(line.label, line.amount)
    pdf.rule()
    pdf.pair(_("Total paid"), data.total, bold=True)
    pdf.ln(2)
    pdf.detail(_("Payment method"), data.method)
    pdf.detail(_("Charged by"), data.charged_by)

    if data.refunds:
        pdf.heading(_("Refunds"))
        for line in data.refunds:
            pdf.pair(line.label, line.amount)
        pdf.rule()
        pdf.pair(_("Net paid"), data.net, bold=True)

    pdf.ln(8)
    pdf.line_text(_("Thank you. Please keep this receipt for your records."), size=9, h=4.5)
    return bytes(pdf.output())


def receipt_pdf(payment: Payment, *, unicode_font: bool | None = None) -> bytes:
    """The receipt of ``payment`` (paid) as PDF bytes, in the patient's language and zone.
    Raises ValueError for a payment that is not paid."""
    with translation.override(language_for(payment)):
        return render(receipt_data(payment), unicode_font=unicode_font)


def filename(payment: Payment) -> str:
    return f"receipt-{payment.receipt_number}.pdf"
