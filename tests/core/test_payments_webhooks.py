"""Stripe's webhooks through ``POST /webhooks/stripe/``, against localstripe.

* Replay: the events of a set of real payments (a plain success, a decline then a success,
  a 3-D Secure payment that only the webhook confirms, refunded ones) are delivered once,
  then every event three more times in a shuffled order: nothing changes after the first
  delivery but the count of deliveries.
* Order: a payment's events delivered in reverse order end in the same state as in order.
* Forged, altered, unsigned and stale deliveries are refused (400) and write nothing.
* The view answers without calling Stripe; the job that processes the event records a
  failure to reach Stripe and is retried later.

The payment-intent events are the ones localstripe made. localstripe makes no refund events
(``charge.refunded``, ``refund.created``): the tests build those as Stripe documents them
(an event object around the charge or the refund as read back from localstripe) and sign
them with the endpoint secret, as Stripe does.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from huey.contrib.djhuey import HUEY

from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.payments import refunds, stripe_api
from caredoor.core.payments.models import (
    Entry,
    Payment,
    PaymentStatus,
    Refund,
    RefundReason,
    RefundStatus,
    Transaction,
    WebhookEvent,
)
from tests.payments_helpers import PRICE, book_held, pay, priced
from tests.smtp_server import free_port
from tests.stripe_server import CARD_3DS, CARD_DECLINED, SECRET, event_body, sign

pytestmark = pytest.mark.django_db

URL = "/webhooks/stripe/"


# --- talking to the webhook edge and to localstripe -----------------------------------------


def post(client: Any, body: bytes, signature: str | None) -> Any:
    headers = {"HTTP_HOST": "localhost"}
    if signature is not None:
        headers["HTTP_STRIPE_SIGNATURE"] = signature
    return client.post(URL, body, content_type="application/json", **headers)


def deliver(client: Any, event: dict[str, Any], capture: Any) -> Any:
    """One signed delivery of ``event``, its processing job run as on commit."""
    body = event_body(event)
    with capture(execute=True):
        answer = post(client, body, sign(body))
    assert answer.status_code == 200, answer.content
    assert answer.json()["received"] == event["id"]
    return answer


def last_event_id(localstripe: Any) -> str | None:
    events = all_events(localstripe)
    return events[-1]["id"] if events else None


def all_events(localstripe: Any, after: str | None = None) -> list[dict[str, Any]]:
    """Every event localstripe made (after ``after``), oldest first, page by page."""
    events: list[dict[str, Any]] = []
    cursor = after
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["starting_after"] = cursor
        page = httpx.get(f"{localstripe.base}/v1/events", params=params, auth=(SECRET, ""))
        page.raise_for_status()
        data = page.json()
        events += data["data"]
        if not data["has_more"] or not data["data"]:
            return events
        cursor = data["data"][-1]["id"]


def intent_events(events: list[dict[str, Any]], payments: list[Payment]) -> list[dict[str, Any]]:
    """The payment-intent events of ``payments`` (every attempt's intent: the metadata
    names our payment)."""
    ours = {str(p.pk) for p in payments}
    return [
        e
        for e in events
        if e["type"].startswith("payment_intent.")
        and (e["data"]["object"].get("metadata") or {}).get("payment") in ours
    ]


def built_event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """An event as Stripe documents it (https://docs.stripe.com/api/events/object), for the
    refund events localstripe does not make."""
    return {
        "id": f"evt_built_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "api_version": "2017-08-15",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
        "data": {"object": obj},
    }


def charge_refunded_event(payment: Payment) -> dict[str, Any]:
    intent = stripe_api.retrieve_intent(payment.intent_id)
    charge = intent["latest_charge"]
    charge_id = charge["id"] if isinstance(charge, dict) else charge
    return built_event(
        "charge.refunded", stripe_api.plain(stripe_api.client().v1.charges.retrieve(charge_id))
    )


def refund_created_event(refund: Refund) -> dict[str, Any]:
    return built_event("refund.created", stripe_api.retrieve_refund(refund.refund_id))


def unreachable(settings: Any) -> str:
    """Point the payment code at a port nobody listens on; returns the old base."""
    old = settings.PAYMENTS["api_base"]
    settings.PAYMENTS = {**settings.PAYMENTS, "api_base": f"http://127.0.0.1:{free_port()}"}
    return old


def reachable(settings: Any, base: str) -> None:
    settings.PAYMENTS = {**settings.PAYMENTS, "api_base": base}


def refund_whose_answer_was_lost(payment: Payment, amount: int, settings: Any) -> Refund:
    """A refund Stripe made but whose answer never reached us: asked while Stripe was out of
    reach (it stays pending, its amount reserved), then made at Stripe with the same call
    and idempotency key (``stripe_api.create_refund``) and the answer dropped. Only Stripe's
    event can settle it now."""
    base = unreachable(settings)
    refund = refunds.do_refund(payment, amount, reason=RefundReason.STAFF, note="lost answer")
    reachable(settings, base)
    assert refund.status == RefundStatus.PENDING
    answer = stripe_api.create_refund(refund)
    assert answer["status"] == "succeeded"
    Refund.objects.filter(pk=refund.pk).update(refund_id=answer["id"])  # for the test's event
    refund.refresh_from_db()
    return refund


# --- state ----------------------------------------------------------------------------------


def snapshot() -> dict[str, Any]:
    """Everything the events could change, whole rows (the deliveries count aside)."""
    return {
        "payments": list(Payment.objects.order_by("pk").values()),
        "bookings": list(Booking.objects.order_by("pk").values()),
        "refunds": list(Refund.objects.order_by("pk").values()),
        "transactions": list(Transaction.objects.order_by("pk").values()),
        "entries": list(Entry.objects.order_by("pk").values()),
        "audit": AuditEvent.objects.count(),
        "booking_audit": AuditEvent.objects.filter(action__startswith="booking.").count(),
        "events": list(WebhookEvent.objects.order_by("pk").values()),
    }


def without_deliveries(state: dict[str, Any]) -> dict[str, Any]:
    return {
        **state,
        "events": [{k: v for k, v in row.items() if k != "deliveries"} for row in state["events"]],
    }


def payment_state(payment: Payment) -> dict[str, Any]:
    """One payment's outcome, without its ids and times (to compare two payments)."""
    payment.refresh_from_db()
    booking = payment.booking
    booking.refresh_from_db()
    accounts: dict[str, int] = defaultdict(int)
    for account, amount in Entry.objects.filter(txn__payment=payment).values_list(
        "account", "amount_minor"
    ):
        accounts[account] += amount
    return {
        "status": payment.status,
        "amount": payment.amount_minor,
        "refunded": payment.refunded_minor,
        "attempts": payment.attempts,
        "failure": payment.failure_message,
        "receipt": bool(payment.receipt_number),
        "booking": booking.status,
        "refunds": [
            (r.amount_minor, r.status)
            for r in payment.refunds.order_by("pk")  # type: ignore[attr-defined]
        ],
        "transactions": Counter(payment.transactions.values_list("kind", flat=True)),  # type: ignore[attr-defined]
        "accounts": {k: v for k, v in accounts.items() if v},
    }


# --- (a) replay -----------------------------------------------------------------------------


def test_replaying_every_event_three_times_shuffled_changes_nothing(
    world, localstripe, client, settings, django_capture_on_commit_callbacks
):
    _brand, _profile, session_type = priced(world.a)
    marker = last_event_id(localstripe)

    _b, plain = book_held(world.a, session_type, hour=9)
    plain = pay(world.a, plain, localstripe)

    _b, retried = book_held(world.a, session_type, hour=11)
    assert pay(world.a, retried, localstripe, CARD_DECLINED).status == PaymentStatus.FAILED
    retried = pay(world.a, retried, localstripe)

    three_ds_booking, three_ds = book_held(world.a, session_type, hour=13)
    three_ds = pay(world.a, three_ds, localstripe, CARD_3DS)
    intent = stripe_api.retrieve_intent(three_ds.intent_id)
    localstripe.authenticate(intent["id"], intent["client_secret"])  # only Stripe knows

    _b, refunded = book_held(world.a, session_type, hour=15)
    refunded = pay(world.a, refunded, localstripe)
    answered = refunds.do_refund(refunded, 2500, reason=RefundReason.STAFF, note="goodwill")
    assert answered.status == RefundStatus.SUCCEEDED
    lost = refund_whose_answer_was_lost(refunded, 1500, settings)

    assert [p.status for p in (plain, retried, refunded)] == [PaymentStatus.SUCCEEDED] * 3
    assert three_ds.status == PaymentStatus.REQUIRES_ACTION

    payments = [plain, retried, three_ds, refunded]
    events = intent_events(all_events(localstripe, marker), payments)
    kinds = Counter(e["type"] for e in events)
    assert kinds == {"payment_intent.succeeded": 4, "payment_intent.payment_failed": 1}
    events += [charge_refunded_event(refunded), refund_created_event(lost)]

    # Every event once, in the order Stripe made them.
    for event in events:
        assert (
            deliver(client, event, django_capture_on_commit_callbacks).json()["duplicate"] is False
        )

    three_ds.refresh_from_db()
    three_ds_booking.refresh_from_db()
    assert three_ds.status == PaymentStatus.SUCCEEDED
    assert three_ds_booking.status == BookingStatus.CONFIRMED
    lost.refresh_from_db()
    assert lost.status == RefundStatus.SUCCEEDED
    assert Transaction.objects.filter(refund=lost).count() == 1
    refunded.refresh_from_db()
    assert refunded.refunded_minor == 4000
    rows = WebhookEvent.objects.all()
    assert rows.count() == len(events)
    assert all(r.processed_at and not r.error and r.deliveries == 1 for r in rows)
    first = snapshot()
    stripe_side = [stripe_api.list_refunds(p.intent_id) for p in payments]
    made_at_stripe = len(all_events(localstripe, marker))

    # Every event three more times, shuffled.
    replay = [event for event in events for _ in range(3)]
    random.Random(8).shuffle(replay)
    for event in replay:
        assert deliver(client, event, django_capture_on_commit_callbacks).json()["duplicate"]

    again = snapshot()
    assert without_deliveries(again) == without_deliveries(first)
    assert set(WebhookEvent.objects.values_list("deliveries", flat=True)) == {4}
    # Nothing was asked of Stripe but reads: no new refunds, no new events.
    assert [stripe_api.list_refunds(p.intent_id) for p in payments] == stripe_side
    assert len(all_events(localstripe, marker)) == made_at_stripe


# --- (b) order ------------------------------------------------------------------------------


def declined_then_authenticated(world: Any, localstripe: Any, session_type: Any, hour: int):
    """A decline, then a 3-D Secure attempt the card holder completes at Stripe: only the
    events (or a sync) can tell us it succeeded."""
    booking, payment = book_held(world.a, session_type, hour=hour)
    assert pay(world.a, payment, localstripe, CARD_DECLINED).status == PaymentStatus.FAILED
    payment = pay(world.a, payment, localstripe, CARD_3DS)
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    intent = stripe_api.retrieve_intent(payment.intent_id)
    localstripe.authenticate(intent["id"], intent["client_secret"])
    return booking, payment


def test_events_in_reverse_order_end_in_the_same_state(
    world, localstripe, client, settings, django_capture_on_commit_callbacks
):
    _brand, _profile, session_type = priced(world.a)
    marker = last_event_id(localstripe)
    _b, forward = declined_then_authenticated(world, localstripe, session_type, hour=9)
    _b, backward = declined_then_authenticated(world, localstripe, session_type, hour=12)
    made = all_events(localstripe, marker)
    forward_events = intent_events(made, [forward])
    backward_events = intent_events(made, [backward])
    assert [e["type"] for e in forward_events] == [
        "payment_intent.payment_failed",
        "payment_intent.succeeded",
    ]
    assert [e["type"] for e in backward_events] == [e["type"] for e in forward_events]

    for event in forward_events:
        deliver(client, event, django_capture_on_commit_callbacks)
    # Backwards: the success first, then the older attempt's failure (whose copy of the
    # intent says requires_payment_method), which must not undo it.
    for event in reversed(backward_events):
        deliver(client, event, django_capture_on_commit_callbacks)

    expected = {
        "status": PaymentStatus.SUCCEEDED,
        "amount": PRICE,
        "refunded": 0,
        "attempts": 2,
        "failure": "",
        "receipt": True,
        "booking": BookingStatus.CONFIRMED,
        "refunds": [],
        "transactions": Counter({"payment": 1}),
        "accounts": {"cash": PRICE, "specialist_payable": -7200, "platform_fees": -1800},
    }
    assert payment_state(forward) == expected
    assert payment_state(backward) == expected


def test_refund_events_in_reverse_order_end_in_the_same_state(
    world, localstripe, client, settings, django_capture_on_commit_callbacks
):
    _brand, _profile, session_type = priced(world.a)
    states = []
    for hour, backwards in ((9, False), (12, True)):
        _b, payment = book_held(world.a, session_type, hour=hour)
        payment = pay(world.a, payment, localstripe)
        events = []
        for amount in (1000, 3333):
            refund = refund_whose_answer_was_lost(payment, amount, settings)
            events += [refund_created_event(refund), charge_refunded_event(payment)]
        assert set(payment.refunds.values_list("status", flat=True)) == {RefundStatus.PENDING}
        for event in reversed(events) if backwards else events:
            deliver(client, event, django_capture_on_commit_callbacks)
        states.append(payment_state(payment))

    assert states[0] == states[1]
    assert states[0]["refunds"] == [(1000, "succeeded"), (3333, "succeeded")]
    assert states[0]["accounts"]["cash"] == PRICE - 4333


# --- (c) forged and stale -------------------------------------------------------------------


def test_forged_altered_unsigned_and_stale_deliveries_are_refused(
    world, localstripe, client, settings, django_capture_on_commit_callbacks
):
    _brand, _profile, session_type = priced(world.a)
    marker = last_event_id(localstripe)
    booking, payment = declined_then_authenticated(world, localstripe, session_type, hour=10)
    event = intent_events(all_events(localstripe, marker), [payment])[-1]
    assert event["type"] == "payment_intent.succeeded"
    body = event_body(event)
    now = int(time.time())
    tolerance = settings.PAYMENTS["webhook_tolerance"]
    assert tolerance == 300

    altered = json.loads(body)
    altered["data"]["object"]["amount"] = 1
    other = event_body({**event, "id": "evt_other"})
    refused = {
        "wrong secret": (body, sign(body, secret="whsec_forged")),
        "body altered after signing": (event_body(altered), sign(body)),
        "body re-serialised": (json.dumps(event, indent=2).encode(), sign(body)),
        "another body's signature": (body, sign(other)),
        "no header": (body, None),
        "empty header": (body, ""),
        "garbage header": (body, "t=abc,v1=def"),
        "no v1 signature": (body, sign(body).replace("v1=", "v0=")),
        "stale": (body, sign(body, at=now - tolerance - 5)),
        "very stale": (body, sign(body, at=now - 86400)),
    }
    before = snapshot()
    for name, (payload, signature) in refused.items():
        with django_capture_on_commit_callbacks(execute=True) as jobs:
            answer = post(client, payload, signature)
        assert answer.status_code == 400, name
        assert jobs == [], name
    # The tolerance is the setting's: a minute old is stale under a 30-second tolerance.
    settings.PAYMENTS = {**settings.PAYMENTS, "webhook_tolerance": 30}
    assert post(client, body, sign(body, at=now - 60)).status_code == 400
    # No endpoint secret configured: nothing can be verified, nothing is accepted.
    settings.PAYMENTS = {**settings.PAYMENTS, "webhook_secret": "", "webhook_tolerance": 300}
    assert post(client, body, sign(body)).status_code == 400
    settings.PAYMENTS = {**settings.PAYMENTS, "webhook_secret": "whsec_caredoor_tests"}

    assert not WebhookEvent.objects.exists()
    assert snapshot() == before
    booking.refresh_from_db()
    assert booking.status == BookingStatus.PENDING_PAYMENT

    # The same event, signed a little inside the tolerance, is the one that confirms.
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(client, body, sign(body, at=now - tolerance + 30))
    assert answer.status_code == 200
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_only_post_reaches_the_endpoint(client):
    answer = client.get(URL, HTTP_HOST="localhost")
    assert answer.status_code == 405
    assert not WebhookEvent.objects.exists()


# --- (d) acknowledged at once, processed by a retried job ----------------------------------


@pytest.fixture
def huey_schedule():
    """The job queue's schedule (in memory in tests), empty before and after."""
    HUEY.storage.flush_schedule()
    yield HUEY
    HUEY.storage.flush_schedule()


def test_the_view_answers_without_stripe_and_the_job_retries_later(
    world, localstripe, client, settings, django_capture_on_commit_callbacks, huey_schedule
):
    _brand, _profile, session_type = priced(world.a)
    marker = last_event_id(localstripe)
    booking, payment = declined_then_authenticated(world, localstripe, session_type, hour=10)
    event = intent_events(all_events(localstripe, marker), [payment])[-1]
    body = event_body(event)

    base = unreachable(settings)  # Stripe is out of reach from here on
    with django_capture_on_commit_callbacks(execute=False) as jobs:
        answer = post(client, body, sign(body))
    assert answer.status_code == 200
    assert answer.json() == {"received": event["id"], "duplicate": False}
    row = WebhookEvent.objects.get()
    assert (row.type, row.object_id, row.processed_at) == (
        "payment_intent.succeeded",
        payment.intent_id,
        None,
    )
    assert len(jobs) == 1  # the processing job, queued for after the commit

    # The job runs and cannot reach Stripe: it records why and is scheduled again.
    jobs[0]()
    row.refresh_from_db()
    assert row.processed_at is None and row.error == "APIConnectionError"
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REQUIRES_ACTION
    retries = [t for t in huey_schedule.scheduled() if "process_webhook_event" in t.name]
    assert len(retries) == 1
    retry = retries[0]
    assert retry.args == (row.pk,)
    assert retry.retries == 4
    assert retry.eta > datetime.now(UTC).replace(tzinfo=None)  # later (huey keeps UTC)

    # A second delivery meanwhile is acknowledged too, and only counted.
    with django_capture_on_commit_callbacks(execute=True) as more:
        assert post(client, body, sign(body)).json()["duplicate"] is True
    assert more == []

    # Stripe is back; the retried job does the work.
    reachable(settings, base)
    now = datetime.now(UTC).replace(tzinfo=None)
    assert huey_schedule.read_schedule(now) == []  # not due yet
    due = huey_schedule.read_schedule(retry.eta)  # the consumer's scheduler, when it is due
    assert [task.id for task in due] == [retry.id]
    huey_schedule.execute(due[0], timestamp=retry.eta)
    row.refresh_from_db()
    assert row.processed_at is not None and row.error == "" and row.deliveries == 2
    payment.refresh_from_db()
    booking.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert booking.status == BookingStatus.CONFIRMED
