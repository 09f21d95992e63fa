"""The specialist's transactions page, the sales report downloads (CSV and PDF) and the
dashboard's "Recent transactions" card; who may see them (only the specialist, and only
their own)."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from caredoor.core.compliance.models import AuditEvent
from caredoor.core.payments.models import Entry, Payment, Refund, RefundReason, Voucher
from caredoor.core.payments.refunds import do_refund
from caredoor.core.payments.reports import Month, zone_of
from tests import factories
from tests.payments_helpers import book_held, pay, priced
from tests.pdf_text import pdf_text
from tests.specialist_helpers import approved_and_listed

pytestmark = pytest.mark.django_db

PAGE = "/specialist/transactions/"


def report_url(month: Month, fmt: str) -> str:
    return f"/specialist/transactions/report/{month.year}/{month.month}/{fmt}/"


@pytest.fixture
def money(world, localstripe):  # type: ignore[no-untyped-def]
    """World A's specialist, paid twice by Jürgen Müller on Brand A (one with a voucher),
    one payment refunded 30.00."""
    brand, profile, session_type = priced(world.a)
    world.a.patient.name = "Jürgen Müller"
    world.a.patient.save(update_fields=["name"])
    Voucher.objects.create(brand=brand, code="HALF", kind="percent", percent_off=50)
    _b, first = book_held(world.a, session_type, hour=10)
    first = pay(world.a, first, localstripe)
    _b, second = book_held(world.a, session_type, hour=12, voucher="HALF")
    second = pay(world.a, second, localstripe)
    refund = do_refund(first, 3000, reason=RefundReason.STAFF, actor=None, note="Goodwill")
    return SimpleNamespace(
        brand=brand,
        profile=profile,
        first=first,
        second=second,
        refund=refund,
        month=Month.of(timezone.now(), zone_of(profile)),
    )


@pytest.fixture
def second_specialist(world):  # type: ignore[no-untyped-def]
    """Another specialist of network A, listed on Brand A, never paid."""
    user = factories.make_user("second.specialist@example.test", name="Second Specialist")
    factories.grant(user, "specialist", network=world.a.network)
    side = SimpleNamespace(brand=world.a.brand, operator=world.a.operator)
    approved_and_listed(side, user, [world.a.brand], name="Dr. Second")
    return user


def state() -> tuple[int, ...]:
    return (
        Payment.objects.count(),
        Refund.objects.count(),
        Entry.objects.count(),
        AuditEvent.objects.count(),
    )


# --- the page ------------------------------------------------------------------------------------


def test_the_page_shows_revenue_the_months_transactions_and_downloads(world, client_for, money):
    response = client_for(world.a.specialist, world.a.brand).get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    label = money.month.label
    assert "<h1>Transactions</h1>" in body
    assert "Revenue at a glance" in body
    assert f"Your share in {label}" in body and "120.00 EUR" in body
    assert "2 paid sessions" in body
    assert "Owed to you by the platform" in body
    assert "Paid out to you so far: 0.00 EUR" in body
    assert "Months in Europe/Berlin." in body
    # The table: three rows, newest first, with the patient and the amounts.
    assert body.count('<tr class="tx-refund">') == 1
    assert body.count("Jürgen Müller") == 3
    assert money.first.receipt_number in body and money.second.receipt_number in body
    assert "-24.00 EUR" in body and "45.00 EUR" in body
    assert body.index("-24.00 EUR") < body.index(money.second.receipt_number)
    assert "Total EUR: 2 payments" in body and "1 refund" in body
    assert '<th scope="col" class="num">Your share</th>' in body
    assert 'aria-labelledby="tx-h"' in body
    # The month picker and the downloads.
    assert '<label for="id_month">Month</label>' in body
    assert f'<option value="{money.month.key}" selected>{label}</option>' in body
    assert f'href="{report_url(money.month, "csv")}"' in body
    assert f'href="{report_url(money.month, "pdf")}"' in body
    assert "specialist-money.css" in body
    assert '<link rel="stylesheet" href="/brand/theme.css">' in body  # the site's colours
    # One site: no site filter.
    assert 'name="brand"' not in body
    # The navigation leads here.
    assert f'href="{PAGE}"' in body


def test_another_month_is_empty_and_says_so(world, client_for, money):
    client = client_for(world.a.specialist, world.a.brand)
    previous = money.month.previous()
    body = client.get(PAGE, {"month": previous.key}).content.decode()
    assert "No payments or refunds in this month." in body
    assert "Jürgen Müller" not in body
    assert f'href="{report_url(previous, "csv")}"' in body
    # The cards stay about now.
    assert "120.00 EUR" in body
    # Not a month on offer: this month, with the field's error.
    body = client.get(PAGE, {"month": "1999-01"}).content.decode()
    assert "Select a valid choice" in body and body.count("Jürgen Müller") == 3


def test_the_site_filter_offers_only_the_specialists_sites(world, client_for, money, localstripe):
    # A payment on the sister brand too: now there is a choice of sites.
    from caredoor.core.specialists import actions
    from tests.booking_helpers import make_type
    from tests.payments_helpers import paying_brand
    from tests.specialist_helpers import operator_membership

    sister_side = SimpleNamespace(
        brand=world.a.sister, patient=factories.make_user("sister.patient@example.test")
    )
    factories.grant(sister_side.patient, "patient", network=world.a.network, brand=world.a.sister)
    paying_brand(sister_side)
    listing = actions.do_request_listing(
        money.profile,
        world.a.sister,
        session_offer="50 minutes",
        price_minor=9000,
        actor=world.a.specialist,
    )
    actions.do_set_listing_status(listing, "approved", actor=operator_membership(world.a))
    _b, sister_payment = book_held(sister_side, make_type(money.profile, name="Sister"), hour=15)
    pay(sister_side, sister_payment, localstripe)

    client = client_for(world.a.specialist, world.a.brand)
    body = client.get(PAGE).content.decode()
    assert '<label for="id_brand">Site</label>' in body
    assert f'<option value="{world.a.sister.pk}">Sister A</option>' in body
    assert f'<option value="{world.b.brand.pk}"' not in body
    body = client.get(PAGE, {"month": money.month.key, "brand": world.a.sister.pk}).content
    body = body.decode()
    assert f"{money.month.label} on Sister A" in body
    # The page is still Brand A's (its theme and name), whichever site is chosen.
    assert '<link rel="stylesheet" href="/brand/theme.css">' in body
    assert "Brand A runs on Caredoor" in body
    assert sister_payment.receipt_number in body and "Jürgen Müller" not in body
    # Another network's brand is not a choice: every site, and the error.
    body = client.get(PAGE, {"brand": world.b.brand.pk}).content.decode()
    assert "Select a valid choice" in body
    assert "Jürgen Müller" in body and sister_payment.receipt_number in body


def test_without_payments_the_page_says_what_will_appear(world, client_for, second_specialist):
    body = client_for(second_specialist, world.a.brand).get(PAGE).content.decode()
    assert "No payments yet. When patients pay for sessions with you" in body
    assert "<tbody>" not in body


def test_without_a_profile_the_page_says_to_start_one(world, client_for):
    body = client_for(world.a.specialist, world.a.brand).get(PAGE).content.decode()
    assert "Start your profile first" in body
    this = Month.of(timezone.now(), ZoneInfo("UTC"))
    response = client_for(world.a.specialist, world.a.brand).get(report_url(this, "csv"))
    assert response.status_code == 404


# --- downloads -----------------------------------------------------------------------------------


def test_the_csv_download(world, client_for, money):
    response = client_for(world.a.specialist, world.a.brand).get(report_url(money.month, "csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="sales-{money.month.year:04d}-{money.month.month:02d}.csv"'
    )
    assert response["Cache-Control"] == "private, no-store"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body, total = rows[0], rows[1:-1], rows[-1]
    assert header[0] == "Date" and header[-1] == "Your share" and "Patient" in header
    assert len(body) == 3 and {r[6] for r in body} == {"Jürgen Müller"}
    column = header.index("Your share")
    assert [r[column] for r in body] == ["72.00", "72.00", "-24.00"]
    assert total[0] == "Total" and total[header.index("Currency")] == "EUR"
    assert total[column] == "120.00"
    assert total[header.index("Paid by the patient")] == "105.00"


def test_the_pdf_download(world, client_for, money):
    response = client_for(world.a.specialist, world.a.brand).get(report_url(money.month, "pdf"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].endswith(f'filename="sales-{money.month.key}.pdf"')
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    assert f"Sales report {money.month.label}" in text
    assert "Jürgen Müller" in text and "Total EUR" in text
    assert f"Your share in {money.month.label}: 120.00 EUR" in text


@pytest.mark.parametrize(
    "path",
    [
        "/specialist/transactions/report/2025/13/csv/",
        "/specialist/transactions/report/2025/0/csv/",
        "/specialist/transactions/report/1999/12/csv/",
        "/specialist/transactions/report/2025/3/xlsx/",
    ],
)
def test_reports_that_do_not_exist_are_404(world, client_for, money, path):
    assert client_for(world.a.specialist, world.a.brand).get(path).status_code == 404


def test_a_future_months_report_is_404(world, client_for, money):
    client = client_for(world.a.specialist, world.a.brand)
    assert client.get(report_url(money.month.next(), "csv")).status_code == 404
    assert client.get(report_url(Month(2020, 2), "csv")).status_code == 200


def test_the_pages_answer_only_get(world, client_for, money):
    client = client_for(world.a.specialist, world.a.brand)
    before = state()
    assert client.post(PAGE).status_code == 405
    assert client.post(report_url(money.month, "csv")).status_code == 405
    assert state() == before


# --- the dashboard card -----------------------------------------------------------------------


def test_the_dashboard_shows_recent_transactions(world, client_for, money):
    body = client_for(world.a.specialist, world.a.brand).get("/specialist/").content.decode()
    assert "Recent transactions" in body
    card = body[body.index('aria-labelledby="money-h"') :]
    card = card[: card.index("</section>")]
    assert card.count("<li class=") == 3
    assert "-24.00 EUR" in card and "Jürgen Müller" in card and "· Refund · Session" in card
    assert f'href="{PAGE}"' in card


def test_the_dashboard_card_shows_the_last_five(world, client_for, money, localstripe):
    session_type = money.first.booking.session_type
    for hour in (9, 11, 13, 14, 15):
        _b, payment = book_held(world.a, session_type, hour=hour, days=9)
        pay(world.a, payment, localstripe)
    body = client_for(world.a.specialist, world.a.brand).get("/specialist/").content.decode()
    card = body[body.index('aria-labelledby="money-h"') :]
    card = card[: card.index("</section>")]
    assert card.count("<li class=") == 5
    assert "-24.00 EUR" not in card  # the refund is older than the last five


def test_no_card_for_a_specialist_never_paid(world, client_for, money, second_specialist):
    body = client_for(second_specialist, world.a.brand).get("/specialist/").content.decode()
    assert "Recent transactions" not in body


# --- who may see it ------------------------------------------------------------------------------


def test_another_specialist_sees_none_of_it(world, client_for, money, second_specialist):
    client = client_for(second_specialist, world.a.brand)
    body = client.get(PAGE).content.decode()
    assert "Jürgen Müller" not in body and money.first.receipt_number not in body
    assert "120.00 EUR" not in body
    csv_rows = list(
        csv.reader(io.StringIO(client.get(report_url(money.month, "csv")).content.decode()))
    )
    assert len(csv_rows) == 1  # the header only
    text = pdf_text(client.get(report_url(money.month, "pdf")).content)
    assert "No payments or refunds in this month." in text and "Müller" not in text
    # Even filtering by a site the first specialist was paid on shows nothing of theirs.
    body = client.get(PAGE, {"brand": money.brand.pk}).content.decode()
    assert "Jürgen Müller" not in body


def test_the_specialist_sees_the_same_on_a_sister_site(world, client_for, money):
    body = client_for(world.a.specialist, world.a.sister).get(PAGE).content.decode()
    assert body.count("Jürgen Müller") == 3 and "Brand A" in body


def test_another_networks_specialist_sees_nothing_of_network_a(world, client_for, money):
    approved_and_listed(world.b, world.b.specialist, [world.b.brand], name="Dr. B")
    client = client_for(world.b.specialist, world.b.brand)
    response = client.get(PAGE)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Jürgen Müller" not in body and "Brand A" not in body
    rows = list(
        csv.reader(io.StringIO(client.get(report_url(money.month, "csv")).content.decode()))
    )
    assert len(rows) == 1
    # On network A's site they hold no role in this portal.
    other = client_for(world.b.specialist, world.a.brand)
    assert other.get(PAGE).status_code == 403
    assert other.get(report_url(money.month, "csv")).status_code == 403


@pytest.mark.parametrize(
    "role", ["patient", "org_admin", "org_staff", "finance", "affiliate", "operator"]
)
def test_other_roles_get_the_portals_refusal_and_change_nothing(world, client_for, money, role):
    client = client_for(world.a.people[role], world.a.brand)
    before = state()
    for path in (PAGE, report_url(money.month, "csv"), report_url(money.month, "pdf")):
        response = client.get(path)
        assert response.status_code == 403
        body = response.content.decode()
        assert "No access here" in body and money.first.receipt_number not in body
    assert state() == before


def test_the_outsider_is_refused_and_visitors_sign_in(world, client_for, money):
    response = client_for(world.outsider, world.a.brand).get(report_url(money.month, "csv"))
    assert response.status_code == 403
    assert client_for(world.outsider, world.a.brand).get(PAGE).status_code == 403
    visitor = client_for(None, world.a.brand).get(report_url(money.month, "csv"))
    assert visitor.status_code == 302 and visitor["Location"].startswith("/accounts/login/")
