"""Booking through the API on a brand that takes payments: a priced session is held until
paid (pay_path names the page), a voucher that does not apply is a 422 that writes
nothing, and cancelling a paid booking refunds it under the policy."""

from __future__ import annotations

import pytest

from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.payments.models import Payment, Refund
from tests.api.test_booking_api import Api, errors_of
from tests.booking_helpers import local
from tests.payments_helpers import pay, priced

pytestmark = pytest.mark.django_db


def test_a_priced_booking_through_the_api_waits_for_payment(world, localstripe):
    brand, _profile, session_type = priced(world.a)
    api = Api(world.a.patient, brand)
    body = {"session_type": session_type.pk, "start": local(10).isoformat()}

    refused = api.post("/bookings", {**body, "voucher": "NOPE"})
    assert refused.status_code == 422
    assert [e["code"] for e in errors_of(refused).values()] == ["voucher_unknown"]
    assert not Booking.objects.exists() and not Payment.objects.exists()

    made = api.post("/bookings", body)
    assert made.status_code == 201, made.content
    out = made.json()
    assert out["status"] == BookingStatus.PENDING_PAYMENT
    assert out["requires_payment"] is True and out["expires_at"]
    assert out["pay_path"] == f"/sessions/{out['id']}/pay/"

    payment = Payment.objects.get()
    pay(world.a, payment, localstripe)
    again = api.get(f"/bookings/{out['id']}").json()
    assert again["status"] == BookingStatus.CONFIRMED and again["pay_path"] == ""

    cancelled = api.post(f"/bookings/{out['id']}/cancel", {"reason": ""})
    assert cancelled.status_code == 200
    assert Refund.objects.get().amount_minor == payment.amount_minor


def test_a_brand_without_payments_confirms_at_once(world):
    from tests.booking_helpers import listed_with_hours, make_type

    profile, _ = listed_with_hours(world.a)
    session_type = make_type(profile)
    api = Api(world.a.patient, world.a.brand)
    made = api.post("/bookings", {"session_type": session_type.pk, "start": local(10).isoformat()})
    assert made.status_code == 201
    assert made.json()["status"] == BookingStatus.CONFIRMED and made.json()["pay_path"] == ""
    assert not Payment.objects.exists()
