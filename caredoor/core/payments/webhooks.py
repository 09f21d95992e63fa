"""Stripe's webhooks: verified on the raw body, stored once by event id, processed by a job.

``receive`` runs in the request: it checks the signature and its timestamp (forged,
altered and stale events raise ``SignatureError`` and write nothing), stores the event
id, and schedules ``process`` on commit, so Stripe gets its 200 at once. A repeated
delivery only counts the delivery. ``process`` never trusts the event's copy of the
object: it reads the intent (or its refunds) from Stripe and applies that, so events
arriving in any order, any number of times, end in the same state.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from caredoor.core.payments import checkout, refunds, stripe_api
from caredoor.core.payments.models import Refund, WebhookEvent

log = logging.getLogger("caredoor.payments")

INTENT_EVENTS = "payment_intent."
REFUND_EVENTS = ("charge.refunded", "charge.refund.updated", "refund.created", "refund.updated")


def receive(payload: bytes, signature: str) -> tuple[WebhookEvent, bool]:
    """Verify and store one delivery; returns (the event row, whether it was new)."""
    event = stripe_api.construct_event(payload, signature)
    obj = (event.get("data") or {}).get("object") or {}
    with transaction.atomic():
        row, created = WebhookEvent.objects.get_or_create(
            event_id=event["id"],
            defaults={"type": event["type"][:64], "object_id": str(obj.get("id", ""))[:64]},
        )
        if created:
            from caredoor.core.payments.tasks import process_webhook_event

            transaction.on_commit(lambda: process_webhook_event(row.pk))
        else:
            WebhookEvent.objects.filter(pk=row.pk).update(deliveries=F("deliveries") + 1)
    return row, created


def intent_id_of(row: WebhookEvent) -> str:
    if row.type.startswith(INTENT_EVENTS):
        return row.object_id
    if row.type in REFUND_EVENTS and row.object_id.startswith("re_"):
        return str(stripe_api.retrieve_refund(row.object_id)["payment_intent"] or "")
    if row.type.startswith("charge."):
        charge = stripe_api.plain(stripe_api.client().v1.charges.retrieve(row.object_id))
        return str(charge.get("payment_intent") or "")
    return ""


def process(pk: int) -> None:
    """Apply one stored event (idempotent; the job may run it again after a failure)."""
    row = WebhookEvent.objects.get(pk=pk)
    if row.processed_at is not None:
        return
    if row.type.startswith(INTENT_EVENTS) or row.type in REFUND_EVENTS:
        intent_id = intent_id_of(row)
        if intent_id:
            apply_intent_id(intent_id, refunds_too=row.type in REFUND_EVENTS)
    WebhookEvent.objects.filter(pk=row.pk, processed_at=None).update(
        processed_at=timezone.now(), error=""
    )


def apply_intent_id(intent_id: str, *, refunds_too: bool) -> None:
    intent = stripe_api.retrieve_intent(intent_id)
    payment = checkout.payment_of_intent(intent)
    if payment is None:
        log.info("webhook for an intent we did not make; ignored")
        return
    checkout.apply_intent(payment, intent)
    if refunds_too:
        for answer in stripe_api.list_refunds(intent_id):
            apply_refund_answer(answer)


def apply_refund_answer(answer: Any) -> None:
    metadata = answer.get("metadata") or {}
    pk = str(metadata.get("refund", ""))
    refund = (
        Refund.objects.filter(pk=int(pk)).first()
        if pk.isdigit()
        else Refund.objects.filter(refund_id=answer["id"]).first()
    )
    if refund is not None:
        refunds.apply_refund(refund, answer)


def record_failure(pk: int, error: Exception) -> None:
    WebhookEvent.objects.filter(pk=pk).update(error=type(error).__name__[:300])
