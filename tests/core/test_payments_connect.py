"""Stripe Connect, checked at the HTTP level.

localstripe does not implement Stripe Connect: destination charges (``transfer_data``,
``application_fee_amount``), refunds that reverse the transfer, connected accounts and
account links. So these tests point the payment code (the official ``stripe`` SDK, through
``payments.stripe_api`` as in production) at a small recording HTTP server started here,
which answers with JSON shaped like Stripe's documented objects (PaymentIntent, Refund,
Account, Account Link; https://docs.stripe.com/api), and assert the requests the SDK sends:
the method, the path, the form-encoded parameters and the headers (Idempotency-Key,
Authorization), as Stripe documents them for

* ``POST /v1/payment_intents``: a destination charge
  (https://docs.stripe.com/connect/destination-charges): ``transfer_data[destination]``,
  ``application_fee_amount`` = payment less the specialist's share, ``amount``,
  ``currency``, ``confirm=true``, ``payment_method``;
* ``POST /v1/refunds``: ``reverse_transfer=true`` and ``refund_application_fee=true``;
* ``POST /v1/accounts``: ``type=express`` with the card_payments and transfers
  capabilities requested;
* ``POST /v1/account_links``: ``type=account_onboarding``.

What this does not prove: that Stripe itself accepts the calls (only Stripe's test mode
can), nor how Stripe moves the money between accounts. What our side makes of Stripe's
answers is real: the booking is confirmed, the ledger moves ``min(amount, share)`` from
cash to the specialist, refunds reverse it, and the reconciliation agrees.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from caredoor.core.booking.models import BookingStatus
from caredoor.core.payments import checkout, ledger, refunds, stripe_api
from caredoor.core.payments.models import (
    Account,
    Billing,
    ConnectAccount,
    Entry,
    PaymentStatus,
    RefundReason,
    RefundStatus,
    TxnKind,
    Voucher,
    VoucherKind,
)
from tests.payments_helpers import PRICE, book_held, priced

pytestmark = pytest.mark.django_db

SECRET = "sk_test_connect_recording"
DESTINATION = "acct_1CaredoorSpecialist"
METHOD = "pm_card_visa"


# --- the recording server -------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class Recorder:
    base: str = ""
    requests: list[Seen] = field(default_factory=list)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def posts(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.method == "POST" and r.path == path]

    def answer(self, seen: Seen) -> tuple[int, dict[str, Any]]:
        form, parts = seen.form, seen.path.strip("/").split("/")
        if seen.method == "POST" and seen.path == "/v1/payment_intents":
            intent = {
                "id": f"pi_{uuid.uuid4().hex[:14]}",
                "object": "payment_intent",
                "amount": int(form["amount"]),
                "amount_received": int(form["amount"]),
                "application_fee_amount": int(form.get("application_fee_amount", 0)) or None,
                "currency": form["currency"],
                "status": "succeeded",
                "payment_method": form["payment_method"],
                "payment_method_types": ["card"],
                "transfer_data": (
                    {"destination": form["transfer_data[destination]"]}
                    if "transfer_data[destination]" in form
                    else None
                ),
                "latest_charge": f"ch_{uuid.uuid4().hex[:14]}",
                "metadata": metadata(form),
                "client_secret": "pi_secret_recorded",
                "last_payment_error": None,
                "next_action": None,
                "livemode": False,
                "created": 1795000000,
            }
            self.intents[intent["id"]] = intent
            return 200, intent
        if seen.method == "POST" and seen.path == "/v1/refunds":
            intent = self.intents[form["payment_intent"]]
            refund = {
                "id": f"re_{uuid.uuid4().hex[:14]}",
                "object": "refund",
                "amount": int(form["amount"]),
                "currency": intent["currency"],
                "payment_intent": intent["id"],
                "charge": intent["latest_charge"],
                "status": "succeeded",
                "metadata": metadata(form),
                "transfer_reversal": f"trr_{uuid.uuid4().hex[:14]}",
                "created": 1795000100,
            }
            self.refunds[refund["id"]] = refund
            return 200, refund
        if seen.method == "POST" and seen.path == "/v1/accounts":
            account = {
                "id": DESTINATION,
                "object": "account",
                "type": form["type"],
                "email": form.get("email"),
                "country": form.get("country", "DE"),
                "charges_enabled": False,
                "payouts_enabled": False,
                "details_submitted": False,
                "capabilities": {"card_payments": "inactive", "transfers": "inactive"},
                "created": 1795000200,
            }
            self.accounts[account["id"]] = account
            return 200, account
        if seen.method == "POST" and seen.path == "/v1/account_links":
            return 200, {
                "object": "account_link",
                "created": 1795000300,
                "expires_at": 1795000600,
                "url": f"https://connect.stripe.com/setup/e/{form['account']}/recorded",
            }
        if seen.method == "GET" and parts[:2] == ["v1", "payment_intents"] and len(parts) == 3:
            return (200, self.intents[parts[2]]) if parts[2] in self.intents else missing(seen)
        if seen.method == "GET" and seen.path == "/v1/payment_intents":  # one page, newest first
            data = list(reversed(self.intents.values()))
            return 200, {
                "object": "list",
                "url": "/v1/payment_intents",
                "has_more": False,
                "data": data,
            }
        if seen.method == "GET" and seen.path == "/v1/refunds":
            data = [
                r
                for r in self.refunds.values()
                if r["payment_intent"] == seen.query.get("payment_intent")
            ]
            return 200, {"object": "list", "url": "/v1/refunds", "has_more": False, "data": data}
        if seen.method == "GET" and parts[:2] == ["v1", "accounts"] and len(parts) == 3:
            return (200, self.accounts[parts[2]]) if parts[2] in self.accounts else missing(seen)
        return missing(seen)


def missing(seen: Seen) -> tuple[int, dict[str, Any]]:
    return 404, {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "message": f"No such resource: {seen.path}",
        }
    }


def metadata(form: dict[str, str]) -> dict[str, str]:
    return {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")}


@pytest.fixture
def stripe_connect(settings: Any) -> Iterator[Recorder]:
    """The recording server, with the payment code pointed at it and Connect on."""
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def handle_one(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            seen = Seen(
                method=self.command,
                path=url.path,
                query=dict(parse_qsl(url.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                form=dict(parse_qsl(body, keep_blank_values=True)),
            )
            recorder.requests.append(seen)
            status, answer = recorder.answer(seen)
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = handle_one

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    recorder.base = f"http://127.0.0.1:{server.server_address[1]}"
    settings.PAYMENTS = {
        **settings.PAYMENTS,
        "secret_key": SECRET,
        "publishable_key": "pk_test_connect_recording",
        "webhook_secret": "whsec_connect_recording",
        "api_base": recorder.base,
        "connect": True,
    }
    yield recorder
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def specialist_billed(world):
    """world.a's brand on specialist billing (Stripe Connect), its specialist listed at
    ``PRICE`` with 20 % commission and a connected account that can take charges."""
    brand, profile, session_type = priced(world.a, billing_model="specialist")
    ConnectAccount.objects.create(profile=profile, account_id=DESTINATION, charges_enabled=True)
    return brand, profile, session_type


def entries_of(payment: Any, kind: str) -> list[tuple[str, int, int | None]]:
    return sorted(
        Entry.objects.filter(txn__payment=payment, txn__kind=kind).values_list(
            "account", "amount_minor", "profile_id"
        )
    )


def reconcile_output() -> str:
    out = io.StringIO()
    call_command("reconcile_payments", stdout=out)
    return out.getvalue().strip()


# --- destination charges --------------------------------------------------------------------


def test_a_destination_charge_is_sent_as_stripe_documents(world, stripe_connect, specialist_billed):
    brand, profile, session_type = specialist_billed
    booking, payment = book_held(world.a, session_type)
    assert (payment.billing, payment.destination) == (Billing.CONNECT, DESTINATION)

    paid = checkout.do_attempt(payment, METHOD, actor=world.a.patient)

    [sent] = stripe_connect.posts("/v1/payment_intents")
    assert sent.form == {
        "amount": str(PRICE),
        "currency": "eur",
        "payment_method": METHOD,
        "payment_method_types[0]": "card",
        "confirm": "true",
        "transfer_data[destination]": DESTINATION,
        "application_fee_amount": "1800",  # 9000 less the specialist's 7200
        "metadata[payment]": str(payment.pk),
        "metadata[booking]": str(booking.pk),
        "metadata[brand]": brand.slug,
    }
    assert sent.headers["idempotency-key"] == f"caredoor-payment-{payment.pk}-1"
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.headers["stripe-version"]  # the API version the SDK is pinned to

    # Stripe's answer confirms the booking, and the ledger moves the share out of cash.
    assert paid.status == PaymentStatus.SUCCEEDED
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    assert entries_of(paid, TxnKind.PAYMENT) == sorted(
        [
            (Account.CASH, PRICE, None),
            (Account.SPECIALIST_PAYABLE, -7200, profile.pk),
            (Account.PLATFORM_FEES, -1800, None),
        ]
    )
    assert entries_of(paid, TxnKind.CONNECT_TRANSFER) == sorted(
        [(Account.CASH, -7200, None), (Account.SPECIALIST_PAYABLE, 7200, profile.pk)]
    )
    assert ledger.balance(Account.CASH, brand=brand) == {"EUR": 1800}  # the application fee
    assert ledger.owed_to_specialists(brand) == {}  # paid through their own account
    assert reconcile_output() == "Checked 1 payments: 0 mismatches in 0 payments."


def test_a_voucher_larger_than_the_fee_leaves_the_platform_owing_the_rest(
    world, stripe_connect, specialist_billed
):
    brand, profile, session_type = specialist_billed
    Voucher.objects.create(brand=brand, code="HALF", kind=VoucherKind.PERCENT, percent_off=50)
    _booking, payment = book_held(world.a, session_type, voucher="HALF")
    assert (payment.amount_minor, payment.share_minor) == (4500, 7200)

    paid = checkout.do_attempt(payment, METHOD, actor=world.a.patient)

    [sent] = stripe_connect.posts("/v1/payment_intents")
    assert sent.form["amount"] == "4500"
    assert sent.form["application_fee_amount"] == "0"  # never below zero
    assert sent.form["transfer_data[destination]"] == DESTINATION
    # All 4500 went to the specialist's account; the platform owes the other 2700.
    assert entries_of(paid, TxnKind.CONNECT_TRANSFER) == sorted(
        [(Account.CASH, -4500, None), (Account.SPECIALIST_PAYABLE, 4500, profile.pk)]
    )
    assert ledger.balance(Account.CASH, brand=brand) == {}
    assert ledger.owed_to_specialists(brand) == {(profile.pk, "EUR"): 2700}
    assert ledger.balance(Account.DISCOUNTS, brand=brand) == {"EUR": 4500}


def test_a_refund_reverses_the_transfer_and_the_fee(world, stripe_connect, specialist_billed):
    brand, _profile, session_type = specialist_billed
    _booking, payment = book_held(world.a, session_type)
    paid = checkout.do_attempt(payment, METHOD, actor=world.a.patient)

    refund = refunds.do_refund(paid, 3000, reason=RefundReason.STAFF, note="partly")

    [sent] = stripe_connect.posts("/v1/refunds")
    assert sent.form == {
        "payment_intent": paid.intent_id,
        "amount": "3000",
        "reverse_transfer": "true",
        "refund_application_fee": "true",
        "metadata[refund]": str(refund.pk),
        "metadata[payment]": str(paid.pk),
    }
    assert sent.headers["idempotency-key"] == f"caredoor-refund-{refund.pk}"
    assert refund.status == RefundStatus.SUCCEEDED
    # A third of the payment back: a third of the fee leaves cash (the transfer's third
    # came back from the specialist's account and went straight to the patient).
    assert ledger.balance(Account.CASH, brand=brand) == {"EUR": 1200}
    assert ledger.balance(Account.PLATFORM_FEES, brand=brand) == {"EUR": -1200}
    assert ledger.owed_to_specialists(brand) == {}
    assert reconcile_output().endswith("0 mismatches in 0 payments.")

    # A refund made at Stripe that we never heard of shows up in the reconciliation.
    stripe_connect.refunds["re_elsewhere"] = {
        **stripe_connect.refunds[refund.refund_id],
        "id": "re_elsewhere",
        "amount": 1500,
    }
    out = io.StringIO()
    with pytest.raises(CommandError, match="2 mismatches in 1 payments"):
        call_command("reconcile_payments", stdout=out)
    assert out.getvalue().splitlines() == [
        f"payment {paid.pk} ({paid.receipt_number}): refunded: ours 30.00 EUR, Stripe 45.00 EUR",
        f"payment {paid.pk} ({paid.receipt_number}): ledger: ours 12.00 EUR cash, "
        "Stripe 9.00 EUR implied",
    ]
    del stripe_connect.refunds["re_elsewhere"]

    rest = refunds.do_refund(paid, 6000, reason=RefundReason.STAFF, note="the rest")
    assert rest.status == RefundStatus.SUCCEEDED
    assert [r.form["reverse_transfer"] for r in stripe_connect.posts("/v1/refunds")] == [
        "true",
        "true",
    ]
    for account in Account.values:
        assert ledger.balance(account, brand=brand) == {}
    assert reconcile_output().endswith("0 mismatches in 0 payments.")


# --- connected accounts ---------------------------------------------------------------------


def test_an_express_account_and_its_onboarding_link(stripe_connect):
    account = stripe_api.create_connect_account("specialist@example.test", "DE")
    [sent] = stripe_connect.posts("/v1/accounts")
    assert sent.form == {
        "type": "express",
        "email": "specialist@example.test",
        "country": "DE",
        "capabilities[card_payments][requested]": "true",
        "capabilities[transfers][requested]": "true",
    }
    assert sent.headers["authorization"] == f"Bearer {SECRET}"
    assert account["id"] == DESTINATION

    url = stripe_api.onboarding_link(
        DESTINATION,
        refresh_url="https://a.test/specialist/payments/connect/refresh/",
        return_url="https://a.test/specialist/payments/connect/done/",
    )
    [link] = stripe_connect.posts("/v1/account_links")
    assert link.form == {
        "account": DESTINATION,
        "refresh_url": "https://a.test/specialist/payments/connect/refresh/",
        "return_url": "https://a.test/specialist/payments/connect/done/",
        "type": "account_onboarding",
    }
    assert url == f"https://connect.stripe.com/setup/e/{DESTINATION}/recorded"

    fetched = stripe_api.retrieve_account(DESTINATION)
    assert (fetched["id"], fetched["charges_enabled"]) == (DESTINATION, False)
    assert [(r.method, r.path) for r in stripe_connect.requests][-1] == (
        "GET",
        f"/v1/accounts/{DESTINATION}",
    )


def test_without_connect_nothing_is_sent(world, stripe_connect, specialist_billed, settings):
    """``PAYMENTS["connect"]`` off (as against localstripe): a specialist-billed payment
    fails with a message for the patient and no request leaves."""
    _brand, _profile, session_type = specialist_billed
    booking, payment = book_held(world.a, session_type)
    settings.PAYMENTS = {**settings.PAYMENTS, "connect": False}

    failed = checkout.do_attempt(payment, METHOD, actor=world.a.patient)

    assert failed.status == PaymentStatus.FAILED
    assert failed.failure_message == "Card payments are not available on this service right now."
    booking.refresh_from_db()
    assert booking.status == BookingStatus.PENDING_PAYMENT
    with pytest.raises(stripe_api.ConnectUnavailable):
        stripe_api.create_connect_account("specialist@example.test")
    with pytest.raises(stripe_api.ConnectUnavailable):
        stripe_api.onboarding_link(DESTINATION, refresh_url="https://a.test/", return_url="x")
    assert stripe_connect.requests == []
    assert not Entry.objects.exists()
