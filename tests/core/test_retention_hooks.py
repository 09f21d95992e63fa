"""Retention hooks: the registry the later compliance issue will drive, and the messaging
purger that strips old messages to a trace on one brand only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from caredoor.core.compliance import retention
from caredoor.core.compliance.models import AuditEvent, StoredFile
from caredoor.core.messaging import actions
from caredoor.core.messaging.models import Message, MessageKind, Side
from caredoor.core.messaging.retention import NAME, purge_messages
from caredoor.core.messaging.wire import message_payload
from tests.messaging_helpers import allocated_pair, png_upload

pytestmark = pytest.mark.django_db


def aged(message: Message, days: int) -> Message:
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(days=days))
    message.refresh_from_db()
    return message


def test_the_registry_lists_the_messaging_purger():
    assert retention.purgers()[NAME] is purge_messages
    # ready() may run twice: the same function again is fine, another one is refused.
    retention.register(NAME, purge_messages)
    with pytest.raises(ValueError, match="already registered"):
        retention.register(NAME, lambda brand, before: 0)
    # purgers() is a copy: changing it does not change the registry.
    copy = retention.purgers()
    copy.clear()
    assert NAME in retention.purgers()


def test_purge_strips_old_messages_and_leaves_the_rest(world, django_capture_on_commit_callbacks):
    _profile, _rel, thread = allocated_pair(world.a)
    _profile_b, _rel_b, thread_b = allocated_pair(world.b)
    old = aged(
        actions.do_post(
            thread,
            sender=world.a.patient,
            side=Side.PATIENT,
            body="old secret words",
            upload=png_upload(),
        ),
        days=400,
    )
    blob = old.attachment.storage_name
    event = aged(
        actions.post_system_event(thread, event="booking_confirmed", data={"booking": 1}), 400
    )
    new = actions.do_post(thread, sender=world.a.specialist, side=Side.SPECIALIST, body="fresh")
    other_brand = aged(
        actions.do_post(thread_b, sender=world.b.patient, side=Side.PATIENT, body="brand b old"),
        days=400,
    )
    before = timezone.now() - timedelta(days=365)

    with django_capture_on_commit_callbacks(execute=True):
        assert purge_messages(world.a.brand, before) == 1

    old.refresh_from_db()
    assert old.purged_at is not None and old.body_encrypted == "" and old.attachment_id is None
    assert old.sender_id == world.a.patient.pk  # the line stays, with its author and time
    assert not StoredFile.objects.filter(storage_name=blob).exists()
    assert not default_storage.exists(blob)
    payload = message_payload(old)
    assert (
        payload["purged"] is True and payload["body_html"] == "" and payload["attachment"] is None
    )
    # Newer messages, events and other brands are untouched.
    new.refresh_from_db()
    other_brand.refresh_from_db()
    event.refresh_from_db()
    assert new.purged_at is None and new.body_encrypted
    assert other_brand.purged_at is None and other_brand.body_encrypted
    assert event.purged_at is None and event.kind == MessageKind.EVENT
    # One audit event, counts only.
    audit = AuditEvent.objects.get(action="messaging.retention_purged")
    assert audit.brand_id == world.a.brand.pk
    assert audit.data["messages"] == 1 and audit.data["attachments"] == 1
    assert "secret" not in str(audit.data)
    # Running it again purges nothing and writes no second event.
    assert purge_messages(world.a.brand, before) == 0
    assert AuditEvent.objects.filter(action="messaging.retention_purged").count() == 1


def test_purge_through_the_registry(world):
    _profile, _rel, thread = allocated_pair(world.a)
    aged(actions.do_post(thread, sender=world.a.patient, side=Side.PATIENT, body="x"), days=40)
    before = timezone.now() - timedelta(days=30)
    assert retention.purge(world.a.sister, before)[NAME] == 0  # every purger runs
    assert retention.purge(world.a.brand, before, names=[NAME]) == {NAME: 1}
