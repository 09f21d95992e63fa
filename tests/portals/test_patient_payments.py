"""The patient's money pages: the transaction history, receipt downloads and the booking
page's payment section, with real payments through localstripe; and who may see them
(only the paying patient, on the brand they paid on)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from caredoor.core.booking.models import BookingStatus
from caredoor.core.payments.models import Payment, Refund, RefundReason
from caredoor.core.payments.refunds import do_refund
from tests import factories
from tests.booking_helpers import listed_with_hours, local, make_type
from tests.payments_helpers import book_held, pay, priced
from tests.pdf_text import pdf_text

pytestmark = pytest.mark.django_db

HISTORY = "/payments/"


def receipt_url(payment: Payment) -> str:
    return f"/payments/{payment.pk}/receipt.pdf"


def booking_url(booking) -> str:  # type: ignore[no-untyped-def]
    return f"/sessions/{booking.pk}/"


@pytest.fixture
def paid(world, localstripe):  # type: ignore[no-untyped-def]
    """world.a.patient's paid session (90.00 EUR) on Brand A."""
    _brand, _profile, session_type = priced(world.a)
    _booking, payment = book_held(world.a, session_type)
    payment = pay(world.a, payment, localstripe)
    assert payment.is_paid
    return payment


def refund(payment: Payment, amount: int, actor) -> Refund:  # type: ignore[no-untyped-def]
    return do_refund(payment, amount, reason=RefundReason.STAFF, note="Goodwill", actor=actor)


def text_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


# --- the history ------------------------------------------------------------------------------


def test_the_history_lists_payments_and_refunds_newest_first_with_totals(world, client_for, paid):
    refund(paid, 3000, world.a.operator)
    paid.refresh_from_db()

    page = client_for(world.a.patient, world.a.brand).get(HISTORY)

    assert page.status_code == 200
    html = text_of(page)
    assert "<h1>Payments</h1>" in html
    rows = re.findall(r'<tr class="pay-row pay-row--(\w+)">(.*?)</tr>', html, re.S)
    assert [kind for kind, _row in rows] == ["refund", "payment"]  # newest first
    refund_row, payment_row = rows[0][1], rows[1][1]
    assert "-30.00 EUR" in refund_row and "Refunded" in refund_row
    assert "90.00 EUR" in payment_row and "Partly refunded" in payment_row
    assert "Dr. Listed" in payment_row
    assert f'href="{booking_url(paid.booking)}"' in payment_row  # the session's page
    assert f'href="{receipt_url(paid)}" download' in payment_row
    assert "Download receipt (PDF)" in payment_row and paid.receipt_number in payment_row
    # Totals per currency: paid, refunded, net.
    totals = re.search(r'<table class="table--compact pay-totals[^"]*">(.*?)</table>', html, re.S)
    assert totals is not None
    assert re.search(
        r"EUR</th>\s*<td[^>]*>90.00 EUR</td>\s*<td[^>]*>-30.00 EUR</td>\s*"
        r"<td[^>]*><strong>60.00 EUR</strong>",
        totals.group(1),
    )


def test_a_fully_refunded_payment_says_refunded(world, client_for, paid):
    refund(paid, paid.amount_minor, world.a.operator)
    html = text_of(client_for(world.a.patient, world.a.brand).get(HISTORY))
    rows = dict(re.findall(r'<tr class="pay-row pay-row--(\w+)">(.*?)</tr>', html, re.S))
    assert ">Refunded<" in rows["payment"] and "Partly" not in rows["payment"]
    assert "<strong>0.00 EUR</strong>" in html  # nothing left paid


def test_no_payments_shows_the_empty_state(world, client_for):
    page = client_for(world.a.patient, world.a.brand).get(HISTORY)
    assert page.status_code == 200
    html = text_of(page)
    assert "No payments yet" in html and "pay-row" not in html
    assert 'href="/sessions/"' in html


def test_unpaid_and_failed_attempts_are_not_transactions(world, client_for, localstripe):
    _brand, _profile, session_type = priced(world.a)
    _booking, payment = book_held(world.a, session_type)
    pay(world.a, payment, localstripe, "4000000000000341")  # declined
    html = text_of(client_for(world.a.patient, world.a.brand).get(HISTORY))
    assert "No payments yet" in html


def test_the_navigation_has_payments_only_where_the_brand_takes_payments(world, client_for):
    client = client_for(world.a.patient, world.a.brand)
    assert 'href="/payments/"' not in text_of(client.get("/sessions/"))
    priced(world.a)  # turns the payments module on
    nav = text_of(client.get("/sessions/"))
    assert re.search(r'href="/sessions/"[^<]*>My sessions</a></li>\s*<li><a href="/payments/"', nav)


# --- the receipt ------------------------------------------------------------------------------


def test_the_receipt_downloads_as_a_private_pdf(world, client_for, paid):
    refund(paid, 1000, world.a.operator)
    paid.refresh_from_db()

    response = client_for(world.a.patient, world.a.brand).get(receipt_url(paid))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="receipt-{paid.receipt_number}.pdf"'
    )
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    text = pdf_text(response.content)
    assert paid.receipt_number in text
    assert "90.00 EUR" in text and "-10.00 EUR" in text and "80.00 EUR" in text
    assert reverse("patient:receipt", args=[paid.pk]) == receipt_url(paid)


def test_the_receipt_is_get_only(world, client_for, paid):
    client = client_for(world.a.patient, world.a.brand)
    assert client.post(receipt_url(paid)).status_code == 405
    assert client.post(HISTORY).status_code == 405


# --- the booking page's payment section ---------------------------------------------------


def test_a_held_booking_says_when_payment_is_due_and_links_to_pay(world, client_for, localstripe):
    _brand, _profile, session_type = priced(world.a)
    booking, _payment = book_held(world.a, session_type)

    html = text_of(client_for(world.a.patient, world.a.brand).get(booking_url(booking)))

    section = re.search(r'<section class="card booking-payment".*?</section>', html, re.S)
    assert section is not None
    assert "Payment due by" in section.group()
    assert "90.00 EUR" in section.group()
    assert f'href="/sessions/{booking.pk}/pay/"' in section.group() and "Pay now" in section.group()
    assert "Download receipt" not in section.group()


def test_a_paid_booking_shows_the_amount_the_receipt_and_refunds(world, client_for, paid):
    refund(paid, 2500, world.a.operator)

    html = text_of(client_for(world.a.patient, world.a.brand).get(booking_url(paid.booking)))

    section = re.search(r'<section class="card booking-payment".*?</section>', html, re.S)
    assert section is not None
    text = section.group()
    assert "Amount paid" in text and "90.00 EUR" in text and "Partly refunded" in text
    assert f'href="{receipt_url(paid)}"' in text and paid.receipt_number in text
    assert "-25.00 EUR" in text and "65.00 EUR" in text  # the refund and what is left
    assert "Pay now" not in text


def test_a_session_without_payment_has_no_payment_section(world, client_for):
    from caredoor.core.booking.actions import do_book

    profile, _ = listed_with_hours(world.a)
    booking = do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=make_type(profile),
        start=local(10),
    )
    assert booking.status == BookingStatus.CONFIRMED
    html = text_of(client_for(world.a.patient, world.a.brand).get(booking_url(booking)))
    assert "booking-payment" not in html


# --- who may see it ---------------------------------------------------------------------------


def assert_nothing_leaks(response, payment: Payment) -> None:  # type: ignore[no-untyped-def]
    assert response["Content-Type"].startswith("text/html")
    html = text_of(response)
    assert payment.receipt_number not in html
    assert "90.00 EUR" not in html
    assert f'href="{receipt_url(payment)}"' not in html  # the page echoes its own path


def test_another_patient_on_the_same_brand_sees_none_of_it(world, client_for, paid):
    other = factories.make_user("other.patient@example.test", name="Other Patient")
    factories.grant(other, "patient", network=world.a.network, brand=world.a.brand)
    client = client_for(other, world.a.brand)

    history = client.get(HISTORY)
    assert history.status_code == 200 and "No payments yet" in text_of(history)
    assert_nothing_leaks(history, paid)
    receipt = client.get(receipt_url(paid))
    assert receipt.status_code == 404
    assert_nothing_leaks(receipt, paid)
    section = client.get(booking_url(paid.booking))
    assert section.status_code == 404


def test_the_same_patient_on_another_brand_sees_none_of_it(world, client_for, paid):
    """Payments are per brand: the patient's payment on Brand A is not on its sister."""
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=world.a.sister)
    client = client_for(world.a.patient, world.a.sister)

    history = client.get(HISTORY)
    assert history.status_code == 200 and "No payments yet" in text_of(history)
    assert_nothing_leaks(history, paid)
    receipt = client.get(receipt_url(paid))
    assert receipt.status_code == 404
    assert_nothing_leaks(receipt, paid)


def test_a_patient_of_another_network_gets_404_on_their_own_brand(world, client_for, paid):
    client = client_for(world.b.patient, world.b.brand)
    receipt = client.get(receipt_url(paid))
    assert receipt.status_code == 404
    assert_nothing_leaks(receipt, paid)
    assert_nothing_leaks(client.get(HISTORY), paid)


@pytest.mark.parametrize(
    ("side", "role"),
    [("a", r) for r in ["specialist", "org_admin", "org_staff", "finance", "affiliate", "operator"]]
    + [
        ("b", r)
        for r in [
            "patient",
            "specialist",
            "org_admin",
            "org_staff",
            "finance",
            "affiliate",
            "operator",
        ]
    ],
)
def test_every_other_persona_is_refused_and_sees_nothing(world, client_for, paid, side, role):
    """No patient role on Brand A: the portal's refusal (403), never the payment."""
    person = getattr(getattr(world, side), role)
    client = client_for(person, world.a.brand)
    for url in (HISTORY, receipt_url(paid), booking_url(paid.booking)):
        response = client.get(url)
        assert response.status_code == 403, (role, url)
        assert_nothing_leaks(response, paid)


def test_the_outsider_is_refused_and_visitors_are_sent_to_sign_in(world, client_for, paid):
    outsider = client_for(world.outsider, world.a.brand)
    for url in (HISTORY, receipt_url(paid)):
        response = outsider.get(url)
        assert response.status_code == 403
        assert_nothing_leaks(response, paid)
        visitor = client_for(None, world.a.brand).get(url)
        assert visitor.status_code == 302 and "/accounts/login/" in visitor["Location"]


def test_a_payment_that_does_not_exist_is_404(world, client_for, paid):
    client = client_for(world.a.patient, world.a.brand)
    assert client.get(f"/payments/{paid.pk + 1000}/receipt.pdf").status_code == 404


def test_an_unpaid_payment_has_no_receipt(world, client_for, localstripe):
    _brand, _profile, session_type = priced(world.a)
    _booking, payment = book_held(world.a, session_type)
    assert client_for(world.a.patient, world.a.brand).get(receipt_url(payment)).status_code == 404
