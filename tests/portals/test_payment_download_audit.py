"""Downloads of money documents are audited (``core/payments/downloads.py``): the patient's
receipt PDF and the specialist's monthly sales report (CSV and PDF) each write exactly one
audit event naming the person, their role and what they took; a download that is refused
(every other role, another brand's or network's people, visitors, missing objects, other
methods) writes none. The audit chain still verifies afterwards."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from caredoor.core.compliance.audit import verify_chain
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.payments.models import Payment
from caredoor.core.payments.reports import Month, zone_of
from tests import factories
from tests.payments_helpers import book_held, pay, priced
from tests.specialist_helpers import approved_and_listed

pytestmark = pytest.mark.django_db

RECEIPT = "payment.receipt_downloaded"
REPORT = "payment.sales_report_downloaded"
OTHER_ROLES = ["specialist", "org_admin", "org_staff", "finance", "affiliate", "operator"]
ALL_ROLES = ["patient", *OTHER_ROLES]


def receipt_url(payment: Payment) -> str:
    return f"/payments/{payment.pk}/receipt.pdf"


def report_url(month: Month, fmt: str) -> str:
    return f"/specialist/transactions/report/{month.year}/{month.month}/{fmt}/"


@pytest.fixture
def paid(world: Any, localstripe: Any) -> Any:
    """world.a.patient paid 90.00 EUR on Brand A to world.a.specialist."""
    _brand, profile, session_type = priced(world.a)
    _booking, payment = book_held(world.a, session_type)
    payment = pay(world.a, payment, localstripe)
    assert payment.is_paid
    return SimpleNamespace(
        payment=payment,
        profile=profile,
        session_type=session_type,
        month=Month.of(timezone.now(), zone_of(profile)),
    )


def new_events(before: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(seq__gt=before).order_by("seq"))


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def download(client: Any, path: str, method: str = "get") -> tuple[Any, list[AuditEvent]]:
    """(the response, the audit events the request wrote)."""
    before = last_seq()
    response = getattr(client, method)(path)
    return response, new_events(before)


# --- the patient's receipt -------------------------------------------------------------------


def test_a_receipt_download_writes_one_event_naming_the_patient_and_the_payment(
    world, client_for, paid
):
    client = client_for(world.a.patient, world.a.brand)
    response, events = download(client, receipt_url(paid.payment))
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")

    (event,) = events
    assert event.action == RECEIPT
    assert event.actor_id == world.a.patient.pk
    assert event.actor_label == world.a.patient.email
    assert event.actor_role == "patient"
    assert (event.target_type, event.target_id) == ("payments.payment", str(paid.payment.pk))
    assert event.brand_id == world.a.brand.pk
    assert event.ip == "127.0.0.1"
    assert event.data == {"receipt": paid.payment.receipt_number}

    # Each download is its own event.
    _response, again = download(client, receipt_url(paid.payment))
    assert [e.action for e in again] == [RECEIPT]
    assert verify_chain().ok


@pytest.mark.parametrize(
    ("side", "role"), [("a", r) for r in OTHER_ROLES] + [("b", r) for r in ALL_ROLES]
)
def test_a_receipt_refused_to_anyone_else_writes_nothing(world, client_for, paid, side, role):
    """No patient role on Brand A (every other role there; every role of network B):
    the portal's refusal, and no audit event."""
    person = getattr(getattr(world, side), role)
    response, events = download(client_for(person, world.a.brand), receipt_url(paid.payment))
    assert response.status_code == 403
    assert events == []


def test_a_receipt_not_the_patients_own_is_404_and_writes_nothing(world, client_for, paid):
    other = factories.make_user("other.patient@example.test")
    factories.grant(other, "patient", network=world.a.network, brand=world.a.brand)
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=world.a.sister)
    refused = [
        (client_for(other, world.a.brand), receipt_url(paid.payment)),  # another patient
        (client_for(world.a.patient, world.a.sister), receipt_url(paid.payment)),  # other brand
        (client_for(world.b.patient, world.b.brand), receipt_url(paid.payment)),  # other network
        (
            client_for(world.a.patient, world.a.brand),
            f"/payments/{paid.payment.pk + 99}/receipt.pdf",
        ),
    ]
    for client, path in refused:
        response, events = download(client, path)
        assert response.status_code == 404, path
        assert events == [], path


def test_an_unpaid_payment_visitors_outsiders_and_posts_write_nothing(world, client_for, paid):
    _booking, unpaid = book_held(world.a, paid.session_type, hour=14)
    patient = client_for(world.a.patient, world.a.brand)
    cases = [
        (patient, receipt_url(unpaid), "get", 404),
        (patient, receipt_url(paid.payment), "post", 405),
        (patient, receipt_url(paid.payment), "head", 405),
        (client_for(world.outsider, world.a.brand), receipt_url(paid.payment), "get", 403),
        (client_for(None, world.a.brand), receipt_url(paid.payment), "get", 302),
    ]
    for client, path, method, status in cases:
        response, events = download(client, path, method)
        assert response.status_code == status, (path, method)
        assert events == [], (path, method)


# --- the specialist's sales report ----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "pdf"])
def test_a_report_download_writes_one_event_naming_the_specialist_and_the_report(
    world, client_for, paid, fmt
):
    client = client_for(world.a.specialist, world.a.brand)
    response, events = download(client, report_url(paid.month, fmt))
    assert response.status_code == 200

    (event,) = events
    assert event.action == REPORT
    assert event.actor_id == world.a.specialist.pk
    assert event.actor_role == "specialist"
    assert (event.target_type, event.target_id) == (
        "specialists.specialistprofile",
        str(paid.profile.pk),
    )
    assert event.brand_id == world.a.brand.pk  # the site it was downloaded on
    assert event.data == {"month": paid.month.key, "format": fmt, "rows": 1}
    assert verify_chain().ok


def test_a_report_from_a_sister_site_names_that_site(world, client_for, paid):
    client = client_for(world.a.specialist, world.a.sister)
    response, events = download(client, report_url(paid.month, "csv"))
    assert response.status_code == 200
    (event,) = events
    assert event.brand_id == world.a.sister.pk and event.target_id == str(paid.profile.pk)


def test_another_specialists_report_names_only_their_own_profile(world, client_for, paid):
    """There is no report of someone else to ask for: a second specialist gets their own
    (empty) report, and the event names their profile, not the first one's."""
    user = factories.make_user("second.specialist@example.test")
    factories.grant(user, "specialist", network=world.a.network)
    side = SimpleNamespace(brand=world.a.brand, operator=world.a.operator)
    profile, _listings = approved_and_listed(side, user, [world.a.brand], name="Dr. Second")
    response, events = download(client_for(user, world.a.brand), report_url(paid.month, "csv"))
    assert response.status_code == 200
    (event,) = events
    assert event.actor_id == user.pk and event.target_id == str(profile.pk)
    assert event.data["rows"] == 0


@pytest.mark.parametrize(
    ("side", "role"),
    [("a", r) for r in ALL_ROLES if r != "specialist"] + [("b", r) for r in ALL_ROLES],
)
def test_a_report_refused_to_anyone_else_writes_nothing(world, client_for, paid, side, role):
    person = getattr(getattr(world, side), role)
    client = client_for(person, world.a.brand)
    for fmt in ("csv", "pdf"):
        response, events = download(client, report_url(paid.month, fmt))
        assert response.status_code == 403, (role, fmt)
        assert events == [], (role, fmt)


def test_reports_that_do_not_exist_visitors_and_posts_write_nothing(world, client_for, paid):
    specialist = client_for(world.a.specialist, world.a.brand)
    no_profile = factories.make_user("new.specialist@example.test")
    factories.grant(no_profile, "specialist", network=world.a.network)
    cases = [
        (specialist, report_url(paid.month.next(), "csv"), "get", 404),  # the future
        (specialist, "/specialist/transactions/report/2025/13/csv/", "get", 404),
        (specialist, "/specialist/transactions/report/1999/12/pdf/", "get", 404),
        (specialist, "/specialist/transactions/report/2025/3/xlsx/", "get", 404),
        (specialist, report_url(paid.month, "csv"), "post", 405),
        (client_for(no_profile, world.a.brand), report_url(paid.month, "csv"), "get", 404),
        (client_for(world.outsider, world.a.brand), report_url(paid.month, "csv"), "get", 403),
        (client_for(None, world.a.brand), report_url(paid.month, "pdf"), "get", 302),
    ]
    for client, path, method, status in cases:
        response, events = download(client, path, method)
        assert response.status_code == status, (path, method)
        assert events == [], (path, method)
