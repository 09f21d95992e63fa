"""An ad-hoc call through the signaling socket: the two people are admitted to an open
call and their attendance is what settles it; an ended call and a brand without calls
are refused as docs/video.md ("Signaling") says."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from caredoor.core.booking.actions import do_book
from caredoor.core.brands.models import Brand
from caredoor.core.video import actions
from caredoor.core.video.models import Attendance, Side
from tests.api.test_video_signaling import Peer, in_memory_layer, synced  # noqa: F401
from tests.booking_helpers import listed_with_hours, local, make_type
from tests.conftest import host_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def call(world):  # type: ignore[no-untyped-def]
    """An ad-hoc call A's specialist started with A's patient (their booking next week
    started the care relationship)."""
    Brand.objects.filter(pk=world.a.brand.pk).update(video_adhoc_calls=True)
    brand = Brand.objects.get(pk=world.a.brand.pk)
    profile, _ = listed_with_hours(world.a)
    do_book(patient=world.a.patient, brand=brand, session_type=make_type(profile), start=local(10))
    return actions.do_start_adhoc(brand, profile, world.a.patient)


@pytest.fixture
def connect(world, client_for):  # type: ignore[no-untyped-def]
    async def make(user, portal: str, name: str) -> Peer:  # type: ignore[no-untyped-def]
        def place() -> tuple[str, str]:
            brand = world.a.brand
            return host_of(brand), client_for(user, brand).cookies["sessionid"].value

        host, session = await sync_to_async(place)()
        peer = Peer(host, session, portal, name)
        connected, _ = await peer.comm.connect(timeout=3)
        assert connected
        peer.first = await peer.recv()
        return peer

    return make


@synced
async def test_the_two_people_are_admitted_to_an_open_call(world, call, connect):
    patient = await connect(world.a.patient, "patient", call.name)
    assert patient.first["type"] == "welcome" and patient.first["side"] == "patient"
    specialist = await connect(world.a.specialist, "specialist", call.name)
    assert specialist.first["peer"] is True
    assert await patient.recv() == {"type": "peer", "event": "joined"}
    await patient.send(type="leave")
    assert await specialist.recv() == {"type": "peer", "event": "left"}
    await specialist.close()
    sides = await sync_to_async(list)(
        Attendance.objects.filter(room=call).values_list("side", flat=True)
    )
    assert sorted(sides) == [Side.PATIENT, Side.SPECIALIST]


@synced
async def test_an_ended_call_is_refused(world, call, connect):
    await sync_to_async(actions.do_end_adhoc)(call, actor=world.a.specialist)
    patient = await connect(world.a.patient, "patient", call.name)
    assert patient.first == {"type": "refused", "reason": "closed", "opens": None}
    assert await patient.closed_with() == 4403


@synced
async def test_a_brand_without_calls_refuses_them(world, call, connect):
    await sync_to_async(Brand.objects.filter(pk=world.a.brand.pk).update)(video_adhoc_calls=False)
    specialist = await connect(world.a.specialist, "specialist", call.name)
    first = specialist.first
    assert (first["type"], first["reason"]) == ("refused", "not_found")
    assert await specialist.closed_with() == 4404


@synced
async def test_ending_the_call_ends_both_sockets_at_once(world, call, connect):
    patient = await connect(world.a.patient, "patient", call.name)
    specialist = await connect(world.a.specialist, "specialist", call.name)
    assert await patient.recv() == {"type": "peer", "event": "joined"}
    await sync_to_async(actions.do_end_adhoc)(call, actor=world.a.specialist)
    for peer in (patient, specialist):
        assert await peer.recv() == {"type": "ended", "reason": "closed"}
        assert await peer.closed_with() == 4410
