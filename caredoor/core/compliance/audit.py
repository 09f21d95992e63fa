"""Writing and verifying the audit trail. The bottom layer: every action may call it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.compliance.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def _payload(event: AuditEvent) -> bytes:
    fields = {
        "seq": event.seq,
        "created_at": event.created_at.isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "actor_role": event.actor_role,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "brand_id": event.brand_id,
        "ip": event.ip,
        "data": event.data,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_payload(event)).hexdigest()


def record(
    action: str,
    *,
    actor: Any = None,
    role: str = "",
    target: models.Model | None = None,
    brand: Any = None,
    request: HttpRequest | None = None,
    data: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Append one event. Call it inside the action's transaction: it commits with it."""
    with transaction.atomic():
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        user = actor if getattr(actor, "is_authenticated", False) else None
        event = AuditEvent(
            seq=head.seq + 1,
            created_at=timezone.now(),
            actor=user,
            actor_label=actor_label or (user.email if user else ""),
            actor_role=role,
            action=action,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            target_label=str(target)[:200] if target is not None else "",
            brand=brand,
            ip=client_ip(request),
            data=json.loads(json.dumps(data or {}, default=str)),
            prev_hash=head.hash,
        )
        event.hash = compute_hash(event)
        event.save()
        head.seq, head.hash = event.seq, event.hash
        head.save(update_fields=["seq", "hash"])
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""  # a lazy translation: str() renders it in the active language


def verify_chain(batch: int = 2000) -> ChainReport:
    """Walk the chain in order; report the first event whose link does not hold."""
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = list(AuditEvent.objects.filter(seq__gt=last_seq).order_by("seq")[:batch])
        if not rows:
            break
        for event in rows:
            if event.seq != expected_seq:
                return ChainReport(False, checked, expected_seq, _("event is missing"))
            if event.prev_hash != expected_prev:
                return ChainReport(
                    False, checked, event.seq, _("link to the previous event is broken")
                )
            if compute_hash(event) != event.hash:
                return ChainReport(False, checked, event.seq, _("event content was changed"))
            expected_prev, expected_seq, checked = event.hash, event.seq + 1, checked + 1
            last_seq = event.seq
    head = AuditChainHead.objects.filter(pk=1).first()
    if head and (head.seq != expected_seq - 1 or head.hash != expected_prev):
        return ChainReport(False, checked, expected_seq, _("events after this point were removed"))
    return ChainReport(True, checked)
