"""The conversation pages of the patient, specialist and organization portals.

The list (names, unread counts, closed threads, empty states), the thread page (markup the
live script relies on, read on opening, sidebar facts, event lines, edited and deleted
traces), posting without JavaScript and as JSON (text, attachments, refusals that store
nothing), attachment downloads (parties only, audited, never cached), edit and delete
windows, polling, read positions, opening threads from care pages, and whom staff reach.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone, translation

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking.actions import do_book
from caredoor.core.care.actions import do_end
from caredoor.core.care.models import EndReason
from caredoor.core.compliance.models import AuditEvent, StoredFile
from caredoor.core.consents import actions as consent_actions
from caredoor.core.messaging import actions, events, queries, reach
from caredoor.core.messaging.models import Message, Side, Thread, ThreadKind, ThreadRead
from caredoor.core.messaging.text import BODY_MAX
from caredoor.core.messaging.wire import body_of
from caredoor.core.notifications.models import Notification
from caredoor.core.specialists.models import SpecialistProfile
from tests import factories
from tests.booking_helpers import listed_with_hours, local, make_type
from tests.conftest import host_of
from tests.messaging_helpers import allocated_pair, pdf_upload, png_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(world) -> tuple[Any, Any, Thread]:
    return allocated_pair(world.a)


@pytest.fixture
def patient(world, client_for) -> Client:
    return client_for(world.a.patient, world.a.brand)


@pytest.fixture
def specialist(world, client_for) -> Client:
    return client_for(world.a.specialist, world.a.brand)


def say(thread: Thread, user: Any, side: str, body: str = "Hello", **extra: Any) -> Message:
    return actions.do_post(thread, sender=user, side=side, body=body, **extra)


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def nothing_stored(before: tuple[int, int]) -> bool:
    return (Message.objects.count(), StoredFile.objects.count()) == before


def counts() -> tuple[int, int]:
    return Message.objects.count(), StoredFile.objects.count()


# --- the list --------------------------------------------------------------------------


def test_lists_name_the_other_party_with_unread_counts(world, pair, patient, specialist):
    _profile, _rel, thread = pair
    say(thread, world.a.patient, Side.PATIENT, "One")
    say(thread, world.a.patient, Side.PATIENT, "Two")
    body = page(specialist, "/specialist/messages/")
    assert "Patient a" in body and "2 unread" in body
    assert f'href="/specialist/messages/{thread.pk}/"' in body
    # The navigation badge counts the same, for the live script to bump.
    assert 'data-unread-messages title="Unread messages">2</span>' in body
    mine = page(patient, "/messages/")
    assert "Dr. Listed" in mine and "Specialist" in mine
    assert "unread" not in mine.split("thread-list", 1)[1]
    assert 'data-unread-messages title="Unread messages" hidden>0</span>' in mine
    # No text of a message on the list.
    assert "One" not in body.split("thread-list", 1)[1]


def test_the_list_is_newest_activity_first_and_marks_closed_threads(world, pair, specialist):
    profile, rel, thread = pair
    other = factories.make_user("second.patient@example.test", name="Second Patient")
    factories.grant(other, "patient", network=world.a.network, brand=world.a.brand)
    from caredoor.core.care.actions import do_allocate
    from caredoor.core.care.models import Source

    do_allocate(brand=world.a.brand, patient=other, profile=profile, source=Source.ASSISTED)
    newer = actions.care_thread(world.a.brand, other, profile)
    say(thread, world.a.patient, Side.PATIENT, "Earlier")
    say(newer, other, Side.PATIENT, "Later")
    body = page(specialist, "/specialist/messages/")
    assert body.index("Second Patient") < body.index("Patient a")
    do_end(rel, reason=EndReason.ENDED, actor=world.a.specialist)
    body = page(specialist, "/specialist/messages/")
    row = body.split(f'data-thread="{thread.pk}"', 1)[1].split("</li>", 1)[0]
    assert "Closed" in row


def test_empty_lists_say_how_a_conversation_starts(world, client_for):
    assert "Once you have a specialist" in page(
        client_for(world.a.patient, world.a.brand), "/messages/"
    )
    assert "open their record" in page(
        client_for(world.a.specialist, world.a.brand), "/specialist/messages/"
    )
    operator = page(client_for(world.a.operator, world.a.brand), "/org/messages/")
    assert "New conversation" in operator and "/org/messages/new/" in operator
    employer = factories.make_org(world.a.network, "employer", [world.a.brand], slug="employer-a")
    boss = factories.make_user("boss@example.test", name="Boss")
    factories.grant(boss, "org_admin", network=world.a.network, organization=employer)
    body = page(client_for(boss, world.a.brand), "/org/messages/")
    assert "Employer programs do not hold conversations" in body
    assert "/org/messages/new/" not in body


def test_the_operator_console_without_a_brand_has_no_messages(world, client_for):
    operator = client_for(world.a.operator, None, host="localhost")
    body = operator.get("/org/").content.decode()
    assert "/org/messages/" not in body
    assert operator.get("/org/messages/").status_code == 404


# --- the thread page -------------------------------------------------------------------


def test_the_thread_page_has_the_live_markup(world, pair, specialist):
    _profile, _rel, thread = pair
    message = say(thread, world.a.patient, Side.PATIENT, "Hi <b>there</b> https://example.org/a")
    body = page(specialist, f"/specialist/messages/{thread.pk}/")
    for needle in [
        'id="thread"',
        f'data-thread="{thread.pk}"',
        'data-portal="specialist"',
        f'data-last-id="{message.pk}"',
        f'data-me="{world.a.specialist.pk}"',
        f'data-brand="{world.a.brand.pk}"',
        'data-time-zone="Europe/Berlin"',
        'data-closed="0"',
        f'data-poll-url="/specialist/messages/{thread.pk}/poll/"',
        f'data-post-url="/specialist/messages/{thread.pk}/post/"',
        f'data-read-url="/specialist/messages/{thread.pk}/read/"',
        f'data-attachment-url="/specialist/messages/{thread.pk}/m/{{id}}/file/"',
        'data-text-read="Read"',
        'data-text-typing="%(name)s is typing…"',
        "data-text-offline=",
        "data-text-polling=",
        "data-text-new-messages=",
        '<ol id="messages"',
        f'<li class="message message--new" id="m-{message.pk}" data-id="{message.pk}" '
        'data-mine="0" data-kind="text">',
        '<template id="message-template">',
        '<template id="event-template">',
        'data-slot="sender"',
        'data-slot="body"',
        'data-slot="attachment"',
        'data-slot="edited"',
        'data-slot="deleted"',
        'data-slot="status"',
        '<form id="composer" class="composer" method="post" enctype="multipart/form-data" '
        f'action="/specialist/messages/{thread.pk}/post/">',
        '<textarea id="composer-body" name="body"',
        f'maxlength="{BODY_MAX}"',
        '<input type="file" id="composer-file" name="attachment"',
        'accept="application/pdf,image/jpeg,image/png,image/webp"',
        "PDF, PNG, JPEG or WebP, up to 10 MB.",
        'name="client_token"',
        'name="csrfmiddlewaretoken"',
        '<p id="typing" class="thread__typing" aria-live="polite" hidden>',
        '<p id="live-status" class="thread__status" role="status">',
        '<label for="composer-body">',
    ]:
        assert needle in body, needle
    # The body is the server's sanitized HTML: the tag is text, the address a link.
    assert "&lt;b&gt;there&lt;/b&gt;" in body
    assert 'href="https://example.org/a" rel="nofollow noopener noreferrer"' in body


def test_opening_a_thread_reads_it_and_its_notifications(
    world, pair, specialist, django_capture_on_commit_callbacks
):
    _profile, _rel, thread = pair
    with django_capture_on_commit_callbacks(execute=True):
        last = say(thread, world.a.patient, Side.PATIENT, "Are you there?")
    assert queries.unread_total(world.a.specialist, world.a.brand, Portal.SPECIALIST) == 1
    note = Notification.objects.get(user=world.a.specialist, kind="message")
    assert note.read_at is None
    page(specialist, f"/specialist/messages/{thread.pk}/")
    assert ThreadRead.objects.get(thread=thread, user=world.a.specialist).last_read_id == last.pk
    assert queries.unread_total(world.a.specialist, world.a.brand, Portal.SPECIALIST) == 0
    note.refresh_from_db()
    assert note.read_at is not None
    # My messages say whether the other side has read them.
    body = page(client_for_patient(world), f"/messages/{thread.pk}/")
    line = body.split(f'id="m-{last.pk}"', 1)[1].split("</li>", 1)[0]
    assert '<p class="message__status" data-slot="status">Read</p>' in line


def client_for_patient(world) -> Client:
    client = Client(HTTP_HOST=host_of(world.a.brand))
    client.force_login(world.a.patient)
    return client


def test_earlier_messages_page_back_by_id(world, pair, patient):
    _profile, _rel, thread = pair
    sent = [say(thread, world.a.patient, Side.PATIENT, f"Line {n}") for n in range(55)]
    body = page(patient, f"/messages/{thread.pk}/")
    assert "Line 54" in body and "Line 5<" in body and "Line 4<" not in body
    assert f'href="/messages/{thread.pk}/?before={sent[5].pk}"' in body
    earlier = page(patient, f"/messages/{thread.pk}/?before={sent[5].pk}")
    assert "Line 4<" in earlier and "Line 0<" in earlier and "Line 5<" not in earlier
    assert "Latest messages" in earlier


def test_event_lines_are_compact_with_their_link(world, patient, specialist):
    profile, _listings = listed_with_hours(world.a)
    booking = do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=make_type(profile),
        start=local(10),
    )
    thread = Thread.objects.get(kind=ThreadKind.CARE, patient=world.a.patient, profile=profile)
    event = thread.messages.filter(kind="event").last()
    assert event is not None, "booking a session writes a line in the pair's thread"
    for client, portal, prefix in [
        (patient, Portal.PATIENT, ""),
        (specialist, Portal.SPECIALIST, "/specialist"),
    ]:
        body = page(client, f"{prefix}/messages/{thread.pk}/")
        line_html = body.split(f'id="m-{event.pk}"', 1)[1].split("</li>", 1)[0]
        assert 'data-kind="event"' in body.split(f'id="m-{event.pk}"', 1)[1][:120]
        with translation.override("en"), timezone.override("Europe/Berlin"):
            expected = events.describe(event.event, event.event_data, portal)
        from django.utils.html import escape

        assert escape(expected.text) in line_html
        if expected.url:
            assert f'href="{expected.url}"' in line_html
    assert booking.pk


def test_edited_and_deleted_messages_leave_a_trace(world, pair, specialist):
    _profile, _rel, thread = pair
    edited = say(thread, world.a.patient, Side.PATIENT, "Typo here")
    actions.do_edit(edited, by=world.a.patient, body="Fixed text")
    deleted = say(thread, world.a.patient, Side.PATIENT, "Oops, wrong person", upload=png_upload())
    actions.do_delete(deleted, by=world.a.patient)
    body = page(specialist, f"/specialist/messages/{thread.pk}/")
    edited_line = body.split(f'id="m-{edited.pk}"', 1)[1].split("</li>", 1)[0]
    assert "Fixed text" in edited_line and "Typo" not in body
    assert '<span class="message__edited" data-slot="edited">edited</span>' in edited_line
    deleted_line = body.split(f'id="m-{deleted.pk}"', 1)[1].split("</li>", 1)[0]
    assert "Message deleted by Patient a on" in deleted_line
    assert "Oops" not in body and "scan.png" not in body


def test_the_specialist_sidebar(world, specialist):
    world.a.patient.time_zone = "America/New_York"
    world.a.patient.save()
    for brand in (world.a.brand,):
        brand.modules = [*brand.modules, "consents"]
        brand.save(update_fields=["modules"])
    profile, _listings = listed_with_hours(world.a)
    booking = do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=make_type(profile, name="Talk"),
        start=local(10),
    )
    consent_actions.do_create_document(
        kind="telehealth",
        title="Video consent",
        stage="session",
        body="Text.",
        actor=None,
        brand=world.a.brand,
    )
    thread = actions.care_thread(world.a.brand, world.a.patient, profile)
    body = page(specialist, f"/specialist/messages/{thread.pk}/")
    aside = body.split('<aside class="thread-sidebar', 1)[1].split("</aside>", 1)[0]
    assert "Patient a" in aside
    assert "America/New_York" in aside  # the patient's zone
    assert "Active" in aside and "Directory" in aside  # status and source
    assert f'href="/specialist/bookings/{booking.pk}/"' in aside  # next session, its page
    assert "Confirmed" in aside and "Talk" in aside
    assert "Video consent" in aside  # outstanding for this patient
    rel_id = world.a.patient.care_relationships.get().pk
    assert f'href="/specialist/patients/{rel_id}/"' in aside
    # Times in the specialist's zone, as the page says.
    local_start = timezone.localtime(booking.start, timezone=_zone("Europe/Berlin"))
    assert local_start.strftime("%H:%M") in aside


def _zone(name: str):  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def test_the_patient_sidebar(world, patient):
    for brand in (world.a.brand,):
        brand.modules = [*brand.modules, "consents"]
        brand.save(update_fields=["modules"])
    profile, _rel, thread = allocated_pair(world.a)
    consent_actions.do_create_document(
        kind="telehealth",
        title="Video consent",
        stage="session",
        body="Text.",
        actor=None,
        brand=world.a.brand,
    )
    body = page(patient, f"/messages/{thread.pk}/")
    aside = body.split('<aside class="thread-sidebar', 1)[1].split("</aside>", 1)[0]
    assert "Dr. Listed" in aside and "Psychotherapist" in aside
    assert f'href="/specialists/{profile.pk}/"' in aside  # their public profile
    assert "Video consent" in aside and "/consents/sign/?stage=session" in aside
    assert "None booked" in aside
    assert "Directory" in aside


def test_a_staff_thread_shows_the_person_and_role(world, pair, client_for):
    profile, _rel, _thread = pair
    staff = actions.staff_thread(world.a.brand, world.a.operator_org, profile=profile)
    body = page(client_for(world.a.operator, world.a.brand), f"/org/messages/{staff.pk}/")
    aside = body.split('<aside class="thread-sidebar', 1)[1].split("</aside>", 1)[0]
    assert "Dr. Listed" in aside and "Specialist" in aside and "Psychotherapist" in aside
    other_side = page(
        client_for(world.a.specialist, world.a.brand), f"/specialist/messages/{staff.pk}/"
    )
    aside = other_side.split('<aside class="thread-sidebar', 1)[1].split("</aside>", 1)[0]
    assert world.a.operator_org.name in aside and "Organization staff" in aside


# --- posting ---------------------------------------------------------------------------


def test_posting_text_without_javascript(world, pair, patient):
    _profile, _rel, thread = pair
    response = patient.post(
        f"/messages/{thread.pk}/post/", {"body": "  Hello doctor  ", "client_token": "t-1"}
    )
    message = Message.objects.get(thread=thread)
    assert response.status_code == 302
    assert response["Location"] == f"/messages/{thread.pk}/#m-{message.pk}"
    assert body_of(message) == "Hello doctor" and message.side == Side.PATIENT
    # A second submit of the same form (same token) stores nothing new.
    patient.post(f"/messages/{thread.pk}/post/", {"body": "Hello doctor", "client_token": "t-1"})
    assert Message.objects.filter(thread=thread).count() == 1


def test_posting_as_json(world, pair, specialist):
    _profile, _rel, thread = pair
    response = specialist.post(
        f"/specialist/messages/{thread.pk}/post/",
        {"body": "See https://example.org", "client_token": "abc"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    data = response.json()
    assert data["ok"] is True
    payload = data["message"]
    assert payload["mine"] is True and payload["side"] == "specialist"
    assert 'href="https://example.org"' in payload["body_html"]
    assert payload["sender_name"] == "Dr. Listed"


def test_posting_an_attachment(world, pair, patient, specialist):
    _profile, _rel, thread = pair
    response = patient.post(
        f"/messages/{thread.pk}/post/", {"body": "", "attachment": png_upload("x-ray.png")}
    )
    assert response.status_code == 302
    message = Message.objects.get(thread=thread)
    assert message.attachment is not None and message.attachment.content_type == "image/png"
    body = page(specialist, f"/specialist/messages/{thread.pk}/")
    url = f"/specialist/messages/{thread.pk}/m/{message.pk}/file/"
    assert f'<a href="{url}">x-ray.png</a>' in body


@pytest.mark.parametrize(
    ("upload", "expected"),
    [
        (
            lambda: _renamed_html(),
            "Accepted: PDF, PNG, JPEG, WebP.",  # the refusal names what is accepted
        ),
        (
            lambda: pdf_upload(
                "evil.pdf", body=b"3 0 obj<</S/JavaScript/JS(app.alert(1))>>endobj\n"
            ),
            "active content",
        ),
    ],
    ids=["html-renamed-png", "pdf-with-javascript"],
)
def test_bad_attachments_are_refused_with_a_clear_message(world, pair, patient, upload, expected):
    _profile, _rel, thread = pair
    before = counts()
    response = patient.post(
        f"/messages/{thread.pk}/post/", {"body": "Look at this", "attachment": upload()}
    )
    assert response.status_code == 400
    body = response.content.decode()
    errors = body.split('id="composer-file-errors"', 1)[1].split("</ul>", 1)[0]
    assert "<li>" in errors and expected in errors
    assert 'aria-invalid="true"' in body
    assert "Look at this" in body  # the text is kept for another try
    assert nothing_stored(before)
    json = patient.post(
        f"/messages/{thread.pk}/post/",
        {"body": "Look", "attachment": upload()},
        HTTP_ACCEPT="application/json",
    )
    assert json.status_code == 400
    assert json.json()["ok"] is False and json.json()["errors"]["attachment"]
    assert nothing_stored(before)


def _renamed_html():  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(
        "photo.png", b"<html><script>alert(1)</script></html>", content_type="image/png"
    )


def test_an_oversized_request_is_refused_before_it_is_read(world, pair, patient):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _profile, _rel, thread = pair
    before = counts()
    big = SimpleUploadedFile(
        "big.pdf", b"%PDF-1.4\n" + b"0" * (actions.ATTACHMENT_MAX_BYTES + 80 * 1024)
    )
    response = patient.post(f"/messages/{thread.pk}/post/", {"body": "Big", "attachment": big})
    assert response.status_code == 413
    body = response.content.decode()
    assert "too large to send" in body and "at most 10 MB" in body
    assert nothing_stored(before)
    big.seek(0)
    json = patient.post(
        f"/messages/{thread.pk}/post/",
        {"body": "Big", "attachment": big},
        HTTP_ACCEPT="application/json",
    )
    assert json.status_code == 400
    assert "too large" in json.json()["errors"]["attachment"][0]
    assert nothing_stored(before)


def test_an_attachment_over_the_limit_but_within_the_request_limit(world, pair, patient):
    from django.core.files.uploadedfile import SimpleUploadedFile

    _profile, _rel, thread = pair
    before = counts()
    data = b"%PDF-1.4\n" + b"0" * (actions.ATTACHMENT_MAX_BYTES + 10)
    response = patient.post(
        f"/messages/{thread.pk}/post/",
        {"attachment": SimpleUploadedFile("big.pdf", data)},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"]["attachment"]
    assert nothing_stored(before)


def test_text_beyond_the_limits_is_refused(world, pair, patient, settings):
    _profile, _rel, thread = pair
    before = counts()
    response = patient.post(f"/messages/{thread.pk}/post/", {"body": "x" * (BODY_MAX + 1)})
    assert response.status_code == 400
    assert f"at most {BODY_MAX} characters" in response.content.decode()
    # A form field beyond Django's own limit is answered as a field error, not a crash.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = patient.post(
        f"/messages/{thread.pk}/post/", {"body": "y" * 20_000}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert "too long" in response.json()["errors"]["body"][0]
    empty = patient.post(f"/messages/{thread.pk}/post/", {"body": "   "})
    assert empty.status_code == 400 and "Write a message first." in empty.content.decode()
    assert nothing_stored(before)


def test_a_closed_thread_says_why_and_takes_no_messages(world, pair, patient, specialist):
    _profile, rel, thread = pair
    say(thread, world.a.patient, Side.PATIENT, "Before the end")
    do_end(rel, reason=EndReason.SWITCHED, actor=world.a.patient)
    body = page(patient, f"/messages/{thread.pk}/")
    assert "This conversation is closed." in body and "Before the end" in body
    assert 'id="composer"' not in body and 'data-closed="1"' in body
    assert "Ended" in body.split('<aside class="thread-sidebar', 1)[1]
    before = counts()
    response = specialist.post(f"/specialist/messages/{thread.pk}/post/", {"body": "Still there?"})
    assert response.status_code == 400 and "closed" in response.content.decode()
    assert nothing_stored(before)


def test_the_composer_checks_csrf_after_the_size(world, pair):
    _profile, _rel, thread = pair
    client = Client(HTTP_HOST=host_of(world.a.brand), enforce_csrf_checks=True)
    client.force_login(world.a.patient)
    before = counts()
    for path in [
        f"/messages/{thread.pk}/post/",
        f"/messages/{thread.pk}/read/",
    ]:
        assert client.post(path, {"body": "Forged"}).status_code == 403
    assert nothing_stored(before)
    assert not ThreadRead.objects.filter(user=world.a.patient).exists()
    # With the page's token it goes through.
    client.get(f"/messages/{thread.pk}/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        f"/messages/{thread.pk}/post/", {"body": "Real", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302


# --- attachments -----------------------------------------------------------------------


def test_attachments_download_for_parties_only_and_are_audited(
    world, pair, patient, specialist, client_for
):
    _profile, _rel, thread = pair
    image = say(thread, world.a.patient, Side.PATIENT, "", upload=png_upload("scan.png"))
    document = say(thread, world.a.specialist, Side.SPECIALIST, "", upload=pdf_upload("plan.pdf"))
    before = AuditEvent.objects.filter(action="messaging.attachment_downloaded").count()
    response = specialist.get(f"/specialist/messages/{thread.pk}/m/{image.pk}/file/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    pdf = patient.get(f"/messages/{thread.pk}/m/{document.pk}/file/")
    assert pdf.status_code == 200 and pdf["Content-Disposition"].startswith("attachment")
    assert pdf.content.startswith(b"%PDF")
    events = AuditEvent.objects.filter(action="messaging.attachment_downloaded").order_by("seq")
    assert events.count() == before + 2
    last = events.last()
    assert last.actor == world.a.patient
    assert last.data == {"thread": thread.pk, "file": str(document.attachment_id)}
    assert last.target_id == str(document.pk)
    # Nobody else: another patient of the brand, staff, another network.
    other = factories.make_user("other.patient@example.test")
    factories.grant(other, "patient", network=world.a.network, brand=world.a.brand)
    for user, url in [
        (other, f"/messages/{thread.pk}/m/{image.pk}/file/"),
        (world.a.operator, f"/org/messages/{thread.pk}/m/{image.pk}/file/"),
        (world.a.org_staff, f"/org/messages/{thread.pk}/m/{image.pk}/file/"),
    ]:
        assert client_for(user, world.a.brand).get(url).status_code == 404, user
    assert (
        client_for(world.b.patient, world.b.brand)
        .get(f"/messages/{thread.pk}/m/{image.pk}/file/")
        .status_code
        == 404
    )
    assert events.count() == before + 2  # refusals record nothing


def test_a_deleted_messages_attachment_is_gone(world, pair, patient):
    _profile, _rel, thread = pair
    message = say(thread, world.a.patient, Side.PATIENT, "", upload=png_upload())
    actions.do_delete(message, by=world.a.patient)
    assert patient.get(f"/messages/{thread.pk}/m/{message.pk}/file/").status_code == 404


# --- edit and delete -------------------------------------------------------------------


def test_editing_within_the_window(world, pair, patient, specialist):
    _profile, _rel, thread = pair
    message = say(thread, world.a.patient, Side.PATIENT, "Frist try")
    body = page(patient, f"/messages/{thread.pk}/")
    line = body.split(f'id="m-{message.pk}"', 1)[1].split("</li>", 1)[0]
    assert f'action="/messages/{thread.pk}/m/{message.pk}/edit/"' in line
    assert f'href="/messages/{thread.pk}/m/{message.pk}/delete/"' in line
    # The other side gets neither.
    other = page(specialist, f"/specialist/messages/{thread.pk}/")
    assert "/edit/" not in other.split(f'id="m-{message.pk}"', 1)[1].split("</li>", 1)[0]
    assert page(patient, f"/messages/{thread.pk}/m/{message.pk}/edit/").count("Frist try") >= 1
    response = patient.post(f"/messages/{thread.pk}/m/{message.pk}/edit/", {"body": "First try"})
    assert response.status_code == 302
    message.refresh_from_db()
    assert body_of(message) == "First try" and message.edited_at is not None


def test_editing_after_the_window_changes_nothing(world, pair, patient):
    _profile, _rel, thread = pair
    message = say(thread, world.a.patient, Side.PATIENT, "Old words")
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - actions.EDIT_WINDOW - timedelta(minutes=1)
    )
    body = page(patient, f"/messages/{thread.pk}/")
    line = body.split(f'id="m-{message.pk}"', 1)[1].split("</li>", 1)[0]
    assert "/edit/" not in line and "/delete/" in line  # deleting lasts longer
    assert "can no longer be edited" in page(patient, f"/messages/{thread.pk}/m/{message.pk}/edit/")
    response = patient.post(f"/messages/{thread.pk}/m/{message.pk}/edit/", {"body": "New words"})
    assert response.status_code == 400
    assert "can be edited for 15 minutes" in response.content.decode()
    message.refresh_from_db()
    assert body_of(message) == "Old words" and message.edited_at is None


def test_deleting_asks_first_then_deletes_for_everyone(world, pair, patient, specialist):
    _profile, _rel, thread = pair
    message = say(thread, world.a.patient, Side.PATIENT, "Wrong chat", upload=png_upload())
    confirm = page(patient, f"/messages/{thread.pk}/m/{message.pk}/delete/")
    assert "Delete this message?" in confirm and "Delete for everyone" in confirm
    assert "Wrong chat" in confirm
    message.refresh_from_db()
    assert message.deleted_at is None  # a GET deletes nothing
    response = patient.post(f"/messages/{thread.pk}/m/{message.pk}/delete/")
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.deleted_at is not None and message.attachment is None
    assert "Wrong chat" not in page(specialist, f"/specialist/messages/{thread.pk}/")


def test_deleting_after_the_window_or_anothers_message_is_refused(world, pair, patient, specialist):
    _profile, _rel, thread = pair
    mine = say(thread, world.a.patient, Side.PATIENT, "Yesterday's news")
    Message.objects.filter(pk=mine.pk).update(
        created_at=timezone.now() - actions.DELETE_WINDOW - timedelta(minutes=1)
    )
    response = patient.post(f"/messages/{thread.pk}/m/{mine.pk}/delete/")
    assert response.status_code == 400
    assert "can be deleted for 24 hours" in response.content.decode()
    theirs = say(thread, world.a.specialist, Side.SPECIALIST, "Theirs")
    assert patient.post(f"/messages/{thread.pk}/m/{theirs.pk}/delete/").status_code == 404
    assert (
        patient.post(f"/messages/{thread.pk}/m/{theirs.pk}/edit/", {"body": "Hijacked"}).status_code
        == 404
    )
    for message in (mine, theirs):
        message.refresh_from_db()
        assert message.deleted_at is None and message.edited_at is None
    assert body_of(theirs) == "Theirs"


def test_edit_and_delete_answer_json(world, pair, patient):
    _profile, _rel, thread = pair
    message = say(thread, world.a.patient, Side.PATIENT, "Draft")
    edited = patient.post(
        f"/messages/{thread.pk}/m/{message.pk}/edit/",
        {"body": "Final"},
        HTTP_ACCEPT="application/json",
    ).json()
    assert edited["ok"] and edited["message"]["type"] == "update" and edited["message"]["edited"]
    deleted = patient.post(
        f"/messages/{thread.pk}/m/{message.pk}/delete/", HTTP_ACCEPT="application/json"
    ).json()
    assert deleted["ok"] and deleted["message"]["deleted"] is True
    assert deleted["message"]["body_html"] == ""


# --- polling and reading ---------------------------------------------------------------


def test_polling_returns_what_came_after_and_what_changed(world, pair, patient):
    _profile, _rel, thread = pair
    first = say(thread, world.a.specialist, Side.SPECIALIST, "First")
    start = timezone.now()
    second = say(thread, world.a.specialist, Side.SPECIALIST, "Second")
    actions.do_edit(first, by=world.a.specialist, body="First, edited")
    response = patient.get(
        f"/messages/{thread.pk}/poll/", {"after": first.pk, "since": start.isoformat()}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    data = response.json()
    assert [m["id"] for m in data["messages"]] == [second.pk]
    assert data["messages"][0]["mine"] is False
    assert [u["id"] for u in data["updates"]] == [first.pk]
    assert data["updates"][0]["type"] == "update"
    assert "First, edited" in data["updates"][0]["body_html"]
    assert data["read_upto"] == second.pk  # the specialist has read their own messages
    assert data["now"]
    everything = patient.get(f"/messages/{thread.pk}/poll/", {"after": 0}).json()
    assert [m["id"] for m in everything["messages"]] == [first.pk, second.pk]
    assert everything["updates"] == []
    assert patient.get(f"/messages/{thread.pk}/poll/", {"after": "x"}).status_code == 400


def test_polling_keeps_the_person_present(world, pair, patient):
    from caredoor.core.notifications import presence

    _profile, _rel, thread = pair
    cache.clear()
    assert not presence.is_online(world.a.patient.pk)
    patient.get(f"/messages/{thread.pk}/poll/", {"after": 0})
    assert presence.is_online(world.a.patient.pk)


def test_reading_up_to_a_message(world, pair, patient):
    _profile, _rel, thread = pair
    first = say(thread, world.a.specialist, Side.SPECIALIST, "One")
    say(thread, world.a.specialist, Side.SPECIALIST, "Two")
    response = patient.post(
        f"/messages/{thread.pk}/read/", {"upto": first.pk}, HTTP_ACCEPT="application/json"
    )
    assert response.json() == {"ok": True, "read_upto": first.pk}
    assert queries.unread_total(world.a.patient, world.a.brand, Portal.PATIENT) == 1
    response = patient.post(f"/messages/{thread.pk}/read/")
    assert response.status_code == 302
    assert queries.unread_total(world.a.patient, world.a.brand, Portal.PATIENT) == 0


# --- opening conversations ---------------------------------------------------------------


def test_patients_and_specialists_open_the_care_thread_from_their_pages(
    world, pair, patient, specialist
):
    _profile, rel, thread = pair
    care = page(patient, "/care/")
    assert f'action="/messages/start/{rel.pk}/"' in care
    record = page(specialist, f"/specialist/patients/{rel.pk}/")
    assert f'action="/specialist/messages/start/{rel.pk}/"' in record
    response = patient.post(f"/messages/start/{rel.pk}/")
    assert response["Location"] == f"/messages/{thread.pk}/"
    response = specialist.post(f"/specialist/messages/start/{rel.pk}/")
    assert response["Location"] == f"/specialist/messages/{thread.pk}/"
    assert Thread.objects.count() == 1


def test_a_thread_is_opened_only_for_an_active_relationship_of_ones_own(
    world, client_for, pair, patient
):
    _profile, rel, thread = pair
    thread.delete()
    other = factories.make_user("another@example.test")
    factories.grant(other, "patient", network=world.a.network, brand=world.a.brand)
    assert client_for(other, world.a.brand).post(f"/messages/start/{rel.pk}/").status_code == 404
    # Sister brand: the relationship is brand A's.
    sister = client_for(world.a.specialist, world.a.sister)
    assert sister.post(f"/specialist/messages/start/{rel.pk}/").status_code == 404
    do_end(rel, reason=EndReason.ENDED, actor=world.a.specialist)
    assert patient.post(f"/messages/start/{rel.pk}/").status_code == 404
    assert "/messages/start/" not in page(patient, "/care/")
    assert Thread.objects.count() == 0


# --- staff -------------------------------------------------------------------------------


def _membership(user: Any) -> Any:
    return user.memberships.get()


def test_whom_staff_reach(world, pair):
    profile, rel, _thread = pair
    brand = world.a.brand
    operator = _membership(world.a.operator)
    clinic_staff = _membership(world.a.org_staff)
    # The operator reaches every patient of the brand and every specialist listed on it.
    assert reach.staff_may_reach(operator, brand, patient=world.a.patient)
    assert reach.staff_may_reach(operator, brand, profile=profile)
    # The clinic reaches no one until the specialist is theirs; then their patients too.
    assert not reach.staff_may_reach(clinic_staff, brand, profile=profile)
    assert not reach.staff_may_reach(clinic_staff, brand, patient=world.a.patient)
    SpecialistProfile.objects.filter(pk=profile.pk).update(onboarded_by=world.a.clinic)
    assert reach.staff_may_reach(clinic_staff, brand, profile=profile)
    assert reach.staff_may_reach(clinic_staff, brand, patient=world.a.patient)
    do_end(rel, reason=EndReason.ENDED, actor=world.a.specialist)
    assert not reach.staff_may_reach(clinic_staff, brand, patient=world.a.patient)
    # An employer reaches nobody; nor do roles without the capability.
    employer = factories.make_org(world.a.network, "employer", [brand], slug="employer-a")
    boss = factories.make_user("boss@example.test")
    factories.grant(boss, "org_admin", network=world.a.network, organization=employer)
    assert not reach.staff_may_reach(_membership(boss), brand, patient=world.a.patient)
    assert not reach.staff_may_reach(_membership(world.a.finance), brand, profile=profile)
    # Another network's operator and clinic reach nobody here.
    assert not reach.staff_may_reach(_membership(world.b.operator), brand, patient=world.a.patient)
    assert not reach.staff_may_reach(_membership(world.b.org_admin), brand, profile=profile)
    # Another clinic network of network A, not bound to the brand, reaches nobody either.
    network_b_clinic = factories.make_org(world.a.network, "clinic_network", [world.a.sister])
    someone = factories.make_user("net.staff@example.test")
    factories.grant(someone, "org_staff", network=world.a.network, organization=network_b_clinic)
    SpecialistProfile.objects.filter(pk=profile.pk).update(onboarded_by=network_b_clinic)
    assert not reach.staff_may_reach(_membership(someone), brand, profile=profile)
    assert reach.staff_may_reach(_membership(someone), world.a.sister, profile=profile)
    with pytest.raises(ValueError):
        reach.staff_may_reach(operator, brand)


def test_staff_choose_and_open_a_conversation(world, pair, client_for):
    profile, _rel, _thread = pair
    operator = client_for(world.a.operator, world.a.brand)
    chooser = page(operator, "/org/messages/new/")
    assert "Dr. Listed" in chooser and "Patient a" in chooser
    assert "Patient b" not in chooser
    found = page(operator, "/org/messages/new/?q=listed")
    assert "Dr. Listed" in found and "Patient a" not in found
    response = operator.post("/org/messages/new/start/", {"profile": profile.pk})
    staff = Thread.objects.get(kind=ThreadKind.STAFF, profile=profile)
    assert response["Location"] == f"/org/messages/{staff.pk}/"
    assert staff.organization == world.a.operator_org
    # Again: the same thread.
    operator.post("/org/messages/new/start/", {"profile": profile.pk})
    assert Thread.objects.filter(kind=ThreadKind.STAFF).count() == 1
    # Posting as staff; the specialist reads it in their portal.
    operator.post(f"/org/messages/{staff.pk}/post/", {"body": "Welcome aboard"})
    body = page(client_for(world.a.specialist, world.a.brand), "/specialist/messages/")
    assert world.a.operator_org.name in body and "1 unread" in body
    # The clinic reaches neither here: 404, nothing created.
    clinic = client_for(world.a.org_admin, world.a.brand)
    assert "Dr. Listed" not in page(clinic, "/org/messages/new/")
    assert clinic.post("/org/messages/new/start/", {"profile": profile.pk}).status_code == 404
    assert (
        clinic.post("/org/messages/new/start/", {"patient": world.a.patient.pk}).status_code == 404
    )
    assert clinic.post("/org/messages/new/start/", {}).status_code == 404
    assert Thread.objects.filter(kind=ThreadKind.STAFF).count() == 1


# --- counts elsewhere ------------------------------------------------------------------


def test_home_and_dashboard_show_unread_messages(world, pair, patient, specialist):
    _profile, _rel, thread = pair
    say(thread, world.a.specialist, Side.SPECIALIST, "For you")
    say(thread, world.a.specialist, Side.SPECIALIST, "And this")
    home = page(patient, "/")
    assert '<a href="/messages/">2 unread messages</a>' in home
    say(thread, world.a.patient, Side.PATIENT, "Thanks")
    assert '<a href="/specialist/messages/">One unread message</a>' in page(
        specialist, "/specialist/"
    )
