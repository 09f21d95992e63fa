"""The messaging core: who may see a thread, posting, edits, deletion, read state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from caredoor.core.accounts.policy import Portal
from caredoor.core.care.actions import do_end
from caredoor.core.care.models import EndReason
from caredoor.core.compliance.audit import AuditEvent
from caredoor.core.compliance.models import StoredFile
from caredoor.core.compliance.uploads import read_file
from caredoor.core.messaging import actions, queries
from caredoor.core.messaging.models import Message, Side, ThreadKind
from caredoor.core.messaging.text import BODY_MAX, render_body
from caredoor.core.messaging.wire import message_payload
from caredoor.core.notifications.models import Notification
from tests.messaging_helpers import allocated_pair, pdf_upload, png_upload

pytestmark = pytest.mark.django_db


def test_one_care_thread_per_pair_and_brand(world):
    profile, _rel, thread = allocated_pair(world.a)
    assert actions.care_thread(world.a.brand, world.a.patient, profile) == thread
    other = actions.care_thread(world.a.sister, world.a.patient, profile)
    assert other != thread and other.kind == ThreadKind.CARE


def test_sides_and_refusals(world):
    _profile, _rel, thread = allocated_pair(world.a)
    assert queries.side_of(world.a.patient, thread) == Side.PATIENT
    assert queries.side_of(world.a.specialist, thread) == Side.SPECIALIST
    for name in ("org_admin", "org_staff", "finance", "affiliate", "operator"):
        assert queries.side_of(world.a.people[name], thread) is None, name
    for person in (world.b.patient, world.b.specialist, world.b.operator, world.outsider):
        assert queries.side_of(person, thread) is None
    # Right person, wrong portal or wrong brand: 404 alike.
    queries.access_thread(world.a.patient, world.a.brand, Portal.PATIENT, thread.pk)
    with pytest.raises(Http404):
        queries.access_thread(world.a.patient, world.a.brand, Portal.SPECIALIST, thread.pk)
    with pytest.raises(Http404):
        queries.access_thread(world.a.patient, world.a.sister, Portal.PATIENT, thread.pk)
    with pytest.raises(Http404):
        queries.access_thread(world.b.patient, world.b.brand, Portal.PATIENT, thread.pk)


def test_staff_thread_sides(world):
    profile, _rel, _thread = allocated_pair(world.a)
    thread = actions.staff_thread(world.a.brand, world.a.operator_org, profile=profile)
    assert queries.side_of(world.a.operator, thread) == Side.STAFF
    assert queries.side_of(world.a.specialist, thread) == Side.SPECIALIST
    assert queries.side_of(world.a.patient, thread) is None
    # Clinic staff are not in the operator organization's thread.
    assert queries.side_of(world.a.org_staff, thread) is None
    assert queries.side_of(world.b.operator, thread) is None
    with pytest.raises(ValueError):
        actions.staff_thread(world.a.brand, world.a.operator_org)


def test_post_encrypts_and_renders_safely(world, django_capture_on_commit_callbacks):
    _profile, _rel, thread = allocated_pair(world.a)
    with django_capture_on_commit_callbacks(execute=True):
        message = actions.do_post(
            thread,
            sender=world.a.patient,
            side=Side.PATIENT,
            body="Hello <b>doc</b>, see https://example.org/x",
        )
    stored = Message.objects.get(pk=message.pk).body_encrypted
    assert "Hello" not in stored and stored
    payload = message_payload(message)
    assert "<b>" not in payload["body_html"] and "&lt;b&gt;" in payload["body_html"]
    assert 'href="https://example.org/x"' in payload["body_html"]
    # The specialist is told, without the text; the sender has read their own message.
    note = Notification.objects.get(user=world.a.specialist, kind="message")
    assert "Hello" not in note.title
    assert queries.others_read_upto(thread, world.a.specialist) == message.pk
    threads = queries.with_unread(
        queries.threads_for(world.a.specialist, world.a.brand, Portal.SPECIALIST),
        world.a.specialist,
    )
    assert [(t.pk, t.unread) for t in threads] == [(thread.pk, 1)]
    assert queries.unread_total(world.a.specialist, world.a.brand, Portal.SPECIALIST) == 1
    assert queries.unread_total(world.a.patient, world.a.brand, Portal.PATIENT) == 0


def test_second_message_refreshes_one_notification(world, django_capture_on_commit_callbacks):
    _profile, _rel, thread = allocated_pair(world.a)
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_post(thread, sender=world.a.patient, side=Side.PATIENT, body="one")
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_post(thread, sender=world.a.patient, side=Side.PATIENT, body="two")
    assert Notification.objects.filter(user=world.a.specialist, kind="message").count() == 1


def test_client_token_makes_posting_idempotent(world):
    _profile, _rel, thread = allocated_pair(world.a)
    first = actions.do_post(
        thread, sender=world.a.patient, side=Side.PATIENT, body="hi", client_token="t-1"
    )
    again = actions.do_post(
        thread, sender=world.a.patient, side=Side.PATIENT, body="hi", client_token="t-1"
    )
    assert first.pk == again.pk and thread.messages.count() == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [("   ", "empty"), ("x" * (BODY_MAX + 1), "too_long")],
)
def test_bad_bodies_are_refused_and_nothing_is_stored(world, body, code):
    _profile, _rel, thread = allocated_pair(world.a)
    with pytest.raises(ValidationError) as error:
        actions.do_post(thread, sender=world.a.patient, side=Side.PATIENT, body=body)
    assert error.value.error_dict["body"][0].code == code
    assert thread.messages.count() == 0


def test_attachment_is_checked_encrypted_and_removed_on_delete(world):
    _profile, _rel, thread = allocated_pair(world.a)
    message = actions.do_post(
        thread, sender=world.a.specialist, side=Side.SPECIALIST, upload=png_upload()
    )
    stored = message.attachment
    assert stored.content_type == "image/png" and read_file(stored)[:4] == b"\x89PNG"
    actions.do_delete(message, by=world.a.specialist)
    message.refresh_from_db()
    assert message.deleted_at and message.attachment is None and message.body_encrypted == ""
    assert not StoredFile.objects.filter(pk=stored.pk).exists()
    assert AuditEvent.objects.filter(action="messaging.message_deleted").count() == 1
    assert message_payload(message)["deleted"] is True


def test_malicious_attachment_is_refused_with_a_message(world):
    _profile, _rel, thread = allocated_pair(world.a)
    evil = pdf_upload(body=b"4 0 obj<</S/JavaScript/JS(app.alert(1))>>endobj\n")
    with pytest.raises(ValidationError) as error:
        actions.do_post(thread, sender=world.a.patient, side=Side.PATIENT, upload=evil)
    assert "attachment" in error.value.error_dict
    assert thread.messages.count() == 0
    assert not StoredFile.objects.filter(purpose=actions.ATTACHMENT_PURPOSE).exists()


def test_edit_window_and_author_only(world):
    _profile, _rel, thread = allocated_pair(world.a)
    message = actions.do_post(thread, sender=world.a.patient, side=Side.PATIENT, body="tpyo")
    with pytest.raises(ValidationError):
        actions.do_edit(message, by=world.a.specialist, body="changed")
    actions.do_edit(message, by=world.a.patient, body="typo")
    message.refresh_from_db()
    assert message.edited_at and "typo" in message_payload(message)["body_html"]
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - actions.EDIT_WINDOW - timedelta(seconds=1)
    )
    with pytest.raises(ValidationError):
        actions.do_edit(message, by=world.a.patient, body="late")
    with pytest.raises(ValidationError):
        actions.do_delete(message, by=world.a.specialist)


def test_read_position_only_moves_forward_and_is_clamped(world):
    _profile, _rel, thread = allocated_pair(world.a)
    m1 = actions.do_post(thread, sender=world.a.patient, side=Side.PATIENT, body="1")
    m2 = actions.do_post(thread, sender=world.a.patient, side=Side.PATIENT, body="2")
    assert actions.do_mark_read(thread, world.a.specialist, m2.pk + 1000) == m2.pk
    assert actions.do_mark_read(thread, world.a.specialist, m1.pk) == m2.pk


def test_closed_when_the_relationship_ended(world):
    _profile, rel, thread = allocated_pair(world.a)
    do_end(rel, actor=world.a.patient, reason=EndReason.SWITCHED)
    with pytest.raises(ValidationError) as error:
        actions.do_post(thread, sender=world.a.patient, side=Side.PATIENT, body="hi")
    assert error.value.code == "closed"


def test_render_body_strips_everything_but_links():
    html = render_body('<img src=x onerror=alert(1)> javascript:alert(1) "quoted"')
    assert "<img" not in html and "&lt;img" in html and "<a" not in html


def test_in_app_message_notices_follow_the_preference(world, django_capture_on_commit_callbacks):
    from caredoor.core.notifications.preferences import do_set_preferences

    _profile, _rel, thread = allocated_pair(world.a)
    do_set_preferences(world.a.specialist, world.a.brand, {("messages", "in_app"): False})
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_post(thread, sender=world.a.patient, side=Side.PATIENT, body="hello")
    assert not Notification.objects.filter(user=world.a.specialist, kind="message").exists()
    # Unread state does not depend on notifications.
    assert queries.unread_total(world.a.specialist, world.a.brand, Portal.SPECIALIST) == 1


def test_the_thread_notification_is_pushed_once_then_refreshed(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    from caredoor.core.messaging import notify
    from caredoor.core.notifications import actions as notification_actions

    sent: list[tuple[int, dict]] = []
    monkeypatch.setattr(
        notification_actions, "push_to_user", lambda user, payload: sent.append((user, payload))
    )
    _profile, _rel, thread = allocated_pair(world.a)
    for body in ("one", "two"):
        with django_capture_on_commit_callbacks(execute=True):
            actions.do_post(thread, sender=world.a.patient, side=Side.PATIENT, body=body)
    # One notification, announced to the notification badge once (the second message
    # only refreshed it), with the unread count.
    assert [(user, p["what"], p["unread"]) for user, p in sent] == [
        (world.a.specialist.pk, "notification", 1)
    ]
    note = Notification.objects.get(user=world.a.specialist, kind="message")
    # Opening the thread (the view and the socket call this) reads it.
    assert notify.read_notifications(world.a.specialist, thread.pk, "specialist", world.a.brand)
    note.refresh_from_db()
    assert note.read_at is not None
