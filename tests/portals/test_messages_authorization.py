"""Every messaging URL against every role of both networks, the outsider and a visitor,
with GET and with POST.

Expected: visitors are sent to sign in; people without a role in the portal get the
portal's 403 page; organization roles without ``messages.staff`` get 404; people of the
portal who are not a party to the thread (or may not reach the person) get 404; the party
gets the page (or 405 for the wrong method). A refused POST changes nothing: no message,
no edit, no deletion, no read position, no thread, no audit event.
"""

from __future__ import annotations

from typing import Any

import pytest

from caredoor.core.accounts.policy import PORTAL_ROLES, Capability, Portal, role_can
from caredoor.core.compliance.models import AuditEvent, StoredFile
from caredoor.core.messaging import actions
from caredoor.core.messaging.models import Message, Side, Thread, ThreadRead
from tests.conftest import ROLES
from tests.messaging_helpers import allocated_pair, png_upload

pytestmark = pytest.mark.django_db

PREFIX = {Portal.PATIENT: "", Portal.SPECIALIST: "/specialist", Portal.ORGANIZATION: "/org"}
# The person who is a party in each portal (on network A).
PARTY = {
    Portal.PATIENT: "patient",
    Portal.SPECIALIST: "specialist",
    Portal.ORGANIZATION: "operator",
}

# (url name, path under the portal's prefix, methods the party may use, party's GET status)
ROUTES: list[tuple[str, str, set[str], int]] = [
    ("messages", "/messages/", {"GET"}, 200),
    ("thread", "/messages/{thread}/", {"GET"}, 200),
    ("thread_poll", "/messages/{thread}/poll/?after=0", {"GET"}, 200),
    ("thread_post", "/messages/{thread}/post/", {"POST"}, 405),
    ("thread_read", "/messages/{thread}/read/", {"POST"}, 405),
    ("message_edit", "/messages/{thread}/m/{message}/edit/", {"GET", "POST"}, 200),
    ("message_delete", "/messages/{thread}/m/{message}/delete/", {"GET", "POST"}, 200),
    ("attachment", "/messages/{thread}/m/{message}/file/", {"GET"}, 200),
]
START = {
    Portal.PATIENT: ("thread_start", "/messages/start/{rel}/", {"POST"}, 405),
    Portal.SPECIALIST: ("thread_start", "/messages/start/{rel}/", {"POST"}, 405),
}
STAFF_ROUTES = [
    ("message_new", "/messages/new/", {"GET"}, 200),
    ("staff_thread_start", "/messages/new/start/", {"POST"}, 405),
]
# Thread pages for which a portal member who is not the party gets 404 (list pages and the
# chooser are theirs too: 200 for every member with the capability).
OWN_PAGES = {"messages", "message_new"}
ACTORS = [*(f"a.{r}" for r in ROLES), *(f"b.{r}" for r in ROLES), "outsider", "visitor"]


def _routes(portal: str) -> list[tuple[str, str, set[str], int]]:
    routes = list(ROUTES)
    if portal in START:
        routes.append(START[portal])
    if portal == Portal.ORGANIZATION:
        routes += STAFF_ROUTES
    return routes


CASES = [(portal, actor) for portal in PREFIX for actor in ACTORS]


@pytest.fixture
def scene(world) -> dict[str, Any]:
    """A care thread of network A's pair and the operator organization's thread with the
    patient, each with a message (and attachment) by each party."""
    profile, rel, care = allocated_pair(world.a)
    staff = actions.staff_thread(world.a.brand, world.a.operator_org, patient=world.a.patient)
    by_patient = actions.do_post(
        care,
        sender=world.a.patient,
        side=Side.PATIENT,
        body="From the patient",
        upload=png_upload(),
    )
    by_specialist = actions.do_post(
        care,
        sender=world.a.specialist,
        side=Side.SPECIALIST,
        body="From the specialist",
        upload=png_upload(),
    )
    by_operator = actions.do_post(
        staff, sender=world.a.operator, side=Side.STAFF, body="From the team", upload=png_upload()
    )
    return {
        Portal.PATIENT: {"thread": care.pk, "message": by_patient.pk, "rel": rel.pk},
        Portal.SPECIALIST: {"thread": care.pk, "message": by_specialist.pk, "rel": rel.pk},
        Portal.ORGANIZATION: {"thread": staff.pk, "message": by_operator.pk},
        "profile": profile,
    }


def _user(world, actor: str):  # type: ignore[no-untyped-def]
    if actor == "visitor":
        return None
    if actor == "outsider":
        return world.outsider
    side, role = actor.split(".")
    return getattr(world, side).people[role]


def _expected(
    portal: str, name: str, methods: set[str], party_get: int, actor: str, method: str
) -> int:
    if actor == "visitor":
        return 302
    side, _dot, role = actor.partition(".")
    if side != "a" or role not in PORTAL_ROLES[portal]:
        return 403  # the portal's "no access here" page (another network's people too)
    if portal == Portal.ORGANIZATION and not role_can(role, Capability.MESSAGE_PEOPLE):
        return 404
    is_party = role == PARTY[portal]
    if method not in methods:
        return 405
    if name in OWN_PAGES:
        return 200
    if not is_party:
        return 404
    return party_get if method == "GET" else 302


def _state() -> tuple:
    return (
        list(
            Message.objects.order_by("pk").values_list(
                "pk", "body_encrypted", "edited_at", "deleted_at", "attachment_id"
            )
        ),
        list(ThreadRead.objects.order_by("pk").values_list("pk", "last_read_id")),
        Thread.objects.count(),
        StoredFile.objects.count(),
        AuditEvent.objects.count(),
    )


def _post_data(name: str, scene: dict[str, Any], world) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    if name == "thread_post":
        return {"body": "Let me in", "client_token": "attack"}
    if name == "message_edit":
        return {"body": "Changed by attack"}
    if name == "thread_read":
        return {"upto": 10_000}
    if name == "staff_thread_start":
        return {"patient": world.a.patient.pk}
    return {}


@pytest.mark.parametrize(("portal", "actor"), CASES, ids=[f"{p}-{a}" for p, a in CASES])
def test_messaging_urls_follow_the_policy(world, client_for, scene, portal, actor):
    """Every route of the portal for one person: first every GET, then every POST (the
    party's deletion last, so their other POSTs still find the message)."""
    user = _user(world, actor)
    client = client_for(user, world.a.brand)
    routes = _routes(portal)
    wrong: list[tuple[str, str, int, int]] = []
    for name, pattern, methods, party_get in routes:
        url = PREFIX[portal] + pattern.format(**scene[portal])
        expected = _expected(portal, name, methods, party_get, actor, "GET")
        response = client.get(url)
        if response.status_code != expected:
            wrong.append(("GET", url, response.status_code, expected))
            continue
        if expected == 302:
            assert response["Location"].startswith("/accounts/login/?next="), url
        if expected in (403, 404):
            body = response.content.decode()
            assert "From the patient" not in body and "From the team" not in body, url
    for name, pattern, methods, party_get in sorted(
        routes, key=lambda route: route[0] == "message_delete"
    ):
        url = PREFIX[portal] + pattern.format(**scene[portal])
        expected = _expected(portal, name, methods, party_get, actor, "POST")
        before = _state()
        response = client.post(url, _post_data(name, scene, world))
        if response.status_code != expected:
            wrong.append(("POST", url, response.status_code, expected))
        elif expected != 302 or actor == "visitor":
            # Refused: nothing changed. (The party's own posts, edits, deletion, reads and
            # new threads may change things.)
            assert _state() == before, ("POST", url)
    assert wrong == []


def test_the_party_in_another_portal_or_on_another_brand_gets_404(world, client_for, scene):
    """The right person, the wrong door: the thread of brand A is not on the sister brand,
    and the patient's thread is not the specialist's page of the same person."""
    care = scene[Portal.PATIENT]["thread"]
    sister = client_for(world.a.patient, world.a.sister)
    assert sister.get(f"/messages/{care}/").status_code in (403, 404)
    specialist = client_for(world.a.specialist, world.a.sister)
    assert specialist.get(f"/specialist/messages/{care}/").status_code == 404
    # Network A's specialist is no party to the operator's thread with the patient.
    staff = scene[Portal.ORGANIZATION]["thread"]
    assert (
        client_for(world.a.specialist, world.a.brand)
        .get(f"/specialist/messages/{staff}/")
        .status_code
        == 404
    )


def test_a_message_of_another_thread_is_404_through_a_thread_of_mine(world, client_for, scene):
    """Ids are checked together: a message id from the staff thread does not open through
    the care thread's URL, even for someone who may see both threads' parties."""
    care = scene[Portal.PATIENT]["thread"]
    foreign = scene[Portal.ORGANIZATION]["message"]
    client = client_for(world.a.patient, world.a.brand)
    assert client.get(f"/messages/{care}/m/{foreign}/file/").status_code == 404
    assert client.get(f"/messages/{care}/m/{foreign}/delete/").status_code == 404


def test_refused_posts_record_no_read_and_touch_no_clock(world, client_for, scene):
    thread = Thread.objects.get(pk=scene[Portal.PATIENT]["thread"])
    clock = thread.last_message_at
    client_for(world.b.patient, world.b.brand).post(f"/messages/{thread.pk}/post/", {"body": "x"})
    client_for(world.a.org_staff, world.a.brand).post(f"/org/messages/{thread.pk}/read/")
    thread.refresh_from_db()
    assert thread.last_message_at == clock
    assert not ThreadRead.objects.filter(user__in=[world.b.patient, world.a.org_staff]).exists()
