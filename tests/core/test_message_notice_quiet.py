"""Message notifications out of the post's path: the quiet window of a running
notification (``notifications/quiet.py``) and the per-process batch that a live server
flushes (``messaging/notify.py``)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from caredoor.core.messaging import actions, notify
from caredoor.core.messaging.models import Side
from caredoor.core.notifications import actions as notification_actions
from caredoor.core.notifications import quiet
from caredoor.core.notifications.models import Notification
from caredoor.core.notifications.preferences import do_set_preferences
from tests.messaging_helpers import allocated_pair

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _commits(django_capture_on_commit_callbacks, monkeypatch):
    """Each action here runs its after-commit work when it returns, as it would outside
    a test's transaction."""

    def committed(action):
        def run(*args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return action(*args, **kwargs)

        return run

    for name in ("do_mark_read", "do_mark_all_read"):
        monkeypatch.setattr(
            notification_actions, name, committed(getattr(notification_actions, name))
        )
    monkeypatch.setattr(actions, "do_post", committed(actions.do_post))
    monkeypatch.setattr(
        "tests.core.test_message_notice_quiet.do_set_preferences", committed(do_set_preferences)
    )


def _post(thread, user, side, body):
    return actions.do_post(thread, sender=user, side=side, body=body)


def _notes(user):
    return list(Notification.objects.filter(user=user, kind="message").order_by("pk"))


def test_a_running_notification_is_not_rewritten_in_its_quiet_window(world):
    _profile, _rel, thread = allocated_pair(world.a)
    _post(thread, world.a.patient, Side.PATIENT, "one")
    [note] = _notes(world.a.specialist)
    with CaptureQueriesContext(connection) as queries:
        _post(thread, world.a.patient, Side.PATIENT, "two")
    assert not [q for q in queries if "notifications_notification" in q["sql"]]
    assert [n.created_at for n in _notes(world.a.specialist)] == [note.created_at]
    # After the window the next message moves it to the top again (still one).
    from django.core.cache import cache

    cache.clear()
    _post(thread, world.a.patient, Side.PATIENT, "three")
    [moved] = _notes(world.a.specialist)
    assert moved.pk == note.pk and moved.created_at > note.created_at


def test_reading_in_the_notification_centre_ends_the_quiet_at_once(world):
    _profile, _rel, thread = allocated_pair(world.a)
    _post(thread, world.a.patient, Side.PATIENT, "one")
    [note] = _notes(world.a.specialist)
    notification_actions.do_mark_read(world.a.specialist, world.a.brand, "specialist", note.pk)
    _post(thread, world.a.patient, Side.PATIENT, "two")
    first, second = _notes(world.a.specialist)
    assert first.read_at is not None and second.read_at is None
    # "Mark all read" as well.
    notification_actions.do_mark_all_read(world.a.specialist, world.a.brand, "specialist")
    _post(thread, world.a.patient, Side.PATIENT, "three")
    assert [n.read_at is None for n in _notes(world.a.specialist)] == [False, False, True]


def test_a_changed_preference_applies_to_the_next_message(world):
    _profile, _rel, thread = allocated_pair(world.a)
    specialist, brand = world.a.specialist, world.a.brand
    _post(thread, world.a.patient, Side.PATIENT, "one")
    notification_actions.do_mark_all_read(specialist, brand, "specialist")
    do_set_preferences(specialist, brand, {("messages", "in_app"): False})
    _post(thread, world.a.patient, Side.PATIENT, "two")
    assert [n.read_at is None for n in _notes(specialist)] == [False]
    do_set_preferences(specialist, brand, {("messages", "in_app"): True})
    _post(thread, world.a.patient, Side.PATIENT, "three")
    assert [n.read_at is None for n in _notes(specialist)] == [False, True]


def test_quiet_marks_hold_only_for_their_generation(world):
    target = quiet.Target(world.a.patient.pk, world.a.brand.pk, "patient", "message", "/x")
    other = quiet.Target(world.a.patient.pk, world.a.brand.pk, "patient", "message", "/y")
    due = quiet.due([target, other])
    assert set(due) == {target, other}
    quiet.mark(target, due[target])
    assert set(quiet.due([target, other])) == {other}
    quiet.reset(world.a.patient.pk)
    assert set(quiet.due([target, other])) == {target, other}


def test_a_batch_serves_many_threads_with_a_few_queries(world):
    """What a live server's flush does: a person with an unread message from someone
    else hears of it; one who has read past it (here: by replying) does not."""
    _profile, _rel, one = allocated_pair(world.a)
    _profile_b, _rel_b, two = allocated_pair(world.b)
    a1 = _post(one, world.a.specialist, Side.SPECIALIST, "hello")
    a2 = _post(one, world.a.patient, Side.PATIENT, "hi, thanks")
    b1 = _post(two, world.b.patient, Side.PATIENT, "hello")
    Notification.objects.all().delete()
    from django.core.cache import cache

    cache.clear()
    batch = {
        one.pk: (one, {world.a.specialist.pk: a1.pk, world.a.patient.pk: a2.pk}),
        two.pk: (two, {world.b.patient.pk: b1.pk}),
    }
    with CaptureQueriesContext(connection) as queries:
        notify.refresh_in_app(batch)
    assert {(n.user_id, n.brand_id) for n in Notification.objects.all()} == {
        (world.a.specialist.pk, world.a.brand.pk),  # the patient's reply is unread
        (world.b.specialist.pk, world.b.brand.pk),
    }
    # Read positions once for the batch, preferences once per brand.
    selects = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert len([q for q in selects if "messaging_threadread" in q]) == 1
    assert len([q for q in selects if "notificationpreference" in q]) == 2
