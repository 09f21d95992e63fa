"""The guided-matching pages: the questionnaire (behind the journey gate), the shortlist
with its reasons, choosing (a relationship with source "matching", then the booking page),
direct allocation, no candidates, switching specialist; the brand's matching settings."""

from __future__ import annotations

import pytest

from caredoor.core.booking.actions import do_book
from caredoor.core.care.models import CareRelationship
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.matching.models import MatchingSettings, MatchRequest
from caredoor.core.scheduling.models import SessionType
from caredoor.portals.patient import journey
from tests.booking_helpers import local
from tests.core.test_matching import add_specialist, topic_ids


@pytest.fixture
def duo(world):  # type: ignore[no-untyped-def]
    a = world.a
    return (
        add_specialist(a, "Dora Deutsch", languages=("de", "en"), topics=("Anxiety",)),
        add_specialist(a, "Eli English", languages=("en",), topics=("Sleep",)),
    )


@pytest.fixture
def patient(world, client_for):  # type: ignore[no-untyped-def]
    return client_for(world.a.patient, world.a.brand)


def answers(world, **extra):  # type: ignore[no-untyped-def]
    return {
        "languages": ["de"],
        "specializations": [str(t) for t in topic_ids(world.a, "Anxiety")],
        "format": "",
        "soon": "two_weeks",
        **extra,
    }


def test_questionnaire_shortlist_and_choosing(world, patient, duo):
    dora, eli = duo
    page = patient.get("/match/").content.decode()
    assert "What would you like help with?" in page and "Anxiety" in page
    assert 'value="de"' in page and 'value="sv"' not in page  # languages of listed specialists
    response = patient.post("/match/", answers(world))
    match = MatchRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/match/{match.pk}/"
    result = patient.get(f"/match/{match.pk}/").content.decode()
    assert "Dora Deutsch" in result and "Eli English" not in result  # Eli speaks no German
    for reason in (
        "Speaks German",
        "Works with Anxiety",
        "Has room for new patients",
        "Free slot on",
    ):
        assert reason in result
    assert "Choose Dora Deutsch and book" in result
    # Choosing: the relationship starts (source matching) and the booking page follows.
    response = patient.post(f"/match/{match.pk}/choose/", {"profile": dora.pk})
    assert response.status_code == 302 and response["Location"] == f"/specialists/{dora.pk}/book/"
    rel = CareRelationship.objects.get(patient=world.a.patient)
    assert (rel.profile_id, rel.source) == (dora.pk, "matching")
    # Choosing someone off the list changes nothing.
    response = patient.post(f"/match/{match.pk}/choose/", {"profile": eli.pk})
    assert response.status_code == 302
    assert CareRelationship.objects.count() == 1


def test_bad_answers_change_nothing(world, patient, duo):
    events = AuditEvent.objects.count()
    response = patient.post("/match/", answers(world, soon="someday", languages=["xx"]))
    assert response.status_code == 400
    assert "Nothing was saved" in response.content.decode()
    assert not MatchRequest.objects.exists() and AuditEvent.objects.count() == events


def test_direct_allocation(world, patient, duo):
    dora, _eli = duo
    MatchingSettings.objects.create(brand=world.a.brand, direct_allocation=True)
    patient.post("/match/", answers(world))
    match = MatchRequest.objects.get()
    assert match.chosen_profile_id == dora.pk
    page = patient.get(f"/match/{match.pk}/").content.decode()
    assert "Your specialist: Dora Deutsch" in page and "Book your first session" in page
    assert f'href="/specialists/{dora.pk}/book/"' in page and "Choose Dora" not in page
    assert CareRelationship.objects.get(patient=world.a.patient).source == "matching"


def test_no_candidates(world, patient):
    response = patient.post("/match/", {"soon": "flexible"})
    match = MatchRequest.objects.get()
    assert response["Location"] == f"/match/{match.pk}/"
    page = patient.get(f"/match/{match.pk}/").content.decode()
    assert "No specialist fits your answers right now" in page
    assert 'href="/assisted/"' in page and 'href="/specialists/"' in page


def test_switch_rematches_without_the_old_specialist(world, patient, duo):
    dora, eli = duo
    patient.post("/match/", answers(world, languages=["en"], specializations=[]))
    match = MatchRequest.objects.get()
    patient.post(f"/match/{match.pk}/choose/", {"profile": dora.pk})
    session_type = SessionType.objects.get(profile=dora)
    booked = do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=session_type,
        start=local(10, days=3),
    )
    page = patient.get("/match/switch/").content.decode()
    assert "These sessions stay booked when you switch" in page
    assert f'href="/sessions/{booked.pk}/"' in page
    assert "Why would you like to switch?" in page
    rel = CareRelationship.objects.get(patient=world.a.patient, profile=dora)
    response = patient.post(
        "/match/switch/",
        {
            **answers(world, languages=["en"], specializations=[]),
            "relationship": rel.pk,
            "reason": "fit",
        },
    )
    again = MatchRequest.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == f"/match/{again.pk}/"
    rel.refresh_from_db()
    assert rel.end_reason == "switched"
    assert again.profile_ids == [eli.pk]
    page = patient.get(f"/match/{again.pk}/").content.decode()
    assert "You left Dora Deutsch" in page
    assert "Choose Eli English and book" in page and "Choose Dora" not in page
    booked.refresh_from_db()
    assert booked.status == "confirmed"  # booked sessions stay


def test_switch_without_a_specialist_goes_to_the_questionnaire(world, patient):
    response = patient.get("/match/switch/")
    assert response.status_code == 302 and response["Location"] == "/match/"


def test_switch_refuses_someone_elses_relationship(world, patient, duo, client_for):
    dora, _eli = duo
    other = CareRelationship.objects.create(
        brand=world.a.brand, patient=world.a.org_admin, profile=dora, source="directory"
    )
    mine = CareRelationship.objects.create(
        brand=world.a.brand, patient=world.a.patient, profile=dora, source="directory"
    )
    response = patient.post(
        "/match/switch/", {**answers(world), "relationship": other.pk, "reason": "fit"}
    )
    assert response.status_code == 400
    other.refresh_from_db()
    mine.refresh_from_db()
    assert other.ended_at is None and mine.ended_at is None


def test_match_results_are_the_patients_own(world, patient, duo, client_for):
    patient.post("/match/", answers(world))
    match = MatchRequest.objects.get()
    from tests import factories

    stranger = factories.make_user("stranger@example.test")
    factories.grant(stranger, "patient", network=world.a.network, brand=world.a.brand)
    other = client_for(stranger, world.a.brand)
    assert other.get(f"/match/{match.pk}/").status_code == 404
    assert other.post(f"/match/{match.pk}/choose/", {"profile": duo[0].pk}).status_code == 404
    assert not CareRelationship.objects.exists()
    # Another brand of the network: not there either.
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=world.a.sister)
    assert client_for(world.a.patient, world.a.sister).get(f"/match/{match.pk}/").status_code == 404
    # Not a patient here: the portal refuses.
    assert client_for(world.a.specialist, world.a.brand).get("/match/").status_code == 403


def test_questionnaire_waits_for_what_is_due_before_matching(world, patient, monkeypatch):
    step = journey.Step(kind="consent", title="Sign", url="/consents/telehealth/")
    monkeypatch.setattr(
        journey,
        "pending_steps",
        lambda request, brand, stage, profile=None: [step] if stage == "matching" else [],
    )
    response = patient.get("/match/")
    assert response.status_code == 302
    assert response["Location"] == "/consents/telehealth/?next=%2Fmatch%2F"


def test_navigation_offers_matching_on_matching_brands(world, patient):
    assert 'href="/match/"' not in patient.get("/account/").content.decode()
    world.a.brand.journey_mode = "matching"
    world.a.brand.save()
    assert 'href="/match/"' in patient.get("/account/").content.decode()


# --- the brand's matching settings (operators) -------------------------------------------------


def test_matching_settings_page(world, client_for):
    url = f"/org/brands/{world.a.brand.pk}/matching/"
    operator = client_for(world.a.operator, world.a.brand)
    assert "Guided matching on Brand A" in operator.get(url).content.decode()
    data = {
        "shortlist_size": "4",
        "direct_allocation": "on",
        "weight_fit": "60",
        "weight_soon": "20",
        "weight_capacity": "20",
        "soon_days": "10",
        "max_active_patients": "12",
    }
    response = operator.post(url, {**data, "shortlist_size": "0"})
    assert response.status_code == 400 and not MatchingSettings.objects.exists()
    # The action's own check (no rule weighs anything) comes back on the form.
    weightless = {"weight_fit": "0", "weight_soon": "0", "weight_capacity": "0"}
    response = operator.post(url, {**data, **weightless})
    assert response.status_code == 400 and not MatchingSettings.objects.exists()
    assert "Give at least one of the rules a weight above zero." in response.content.decode()
    response = operator.post(url, data, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert "The matching settings of Brand A were saved." in response.content.decode()
    saved = MatchingSettings.objects.get(brand=world.a.brand)
    assert (saved.shortlist_size, saved.direct_allocation, saved.max_active_patients) == (
        4,
        True,
        12,
    )
    for role in ("org_admin", "org_staff", "finance"):
        response = client_for(world.a.people[role], world.a.brand).post(
            url, {**data, "shortlist_size": "9"}
        )
        assert response.status_code == 404
    other = client_for(world.b.operator, world.b.brand)
    assert other.post(url, {**data, "shortlist_size": "9"}).status_code == 404
    saved.refresh_from_db()
    assert saved.shortlist_size == 4


def test_journey_on_a_fixed_price_brand_through_guided_matching(world, client_for):
    from caredoor.core.booking.actions import next_free_slots
    from caredoor.core.booking.models import Booking
    from caredoor.portals.patient.booking_display import slot_value
    from tests import factories

    steady = factories.make_brand(
        world.a.network,
        "steady-a.test",
        name="Steady A",
        pricing_mode="brand_fixed",
        fixed_price_minor=6000,
        journey_mode="matching",
    )
    factories.grant(world.a.patient, "patient", network=world.a.network, brand=steady)
    dora = add_specialist(
        world.a, "Dora Deutsch", languages=("de",), topics=("Anxiety",), brands=[steady]
    )
    patient = client_for(world.a.patient, steady)
    home = patient.get("/").content.decode()
    assert 'href="/match/"' in home and "Find my specialist" in home
    patient.post("/match/", answers(world))
    match = MatchRequest.objects.get(brand=steady)
    result = patient.get(f"/match/{match.pk}/").content.decode()
    assert "Dora Deutsch" in result and "<strong>60.00 EUR</strong> per session" in result
    response = patient.post(f"/match/{match.pk}/choose/", {"profile": dora.pk})
    assert response["Location"] == f"/specialists/{dora.pk}/book/"
    assert patient.get(response["Location"]).status_code == 200
    session_type = SessionType.objects.get(profile=dora)
    start = next_free_slots(session_type, limit=1)[0].start
    response = patient.post(
        f"/specialists/{dora.pk}/book/confirm/",
        {"type": session_type.pk, "start": slot_value(start)},
    )
    booking = Booking.objects.get()
    assert response["Location"] == f"/sessions/{booking.pk}/"
    assert (booking.brand, booking.status, booking.profile_id) == (steady, "confirmed", dora.pk)
    rel = CareRelationship.objects.get(patient=world.a.patient, brand=steady)
    assert (rel.source, rel.ended_at) == ("matching", None)  # the booking joined it
