"""Guided matching: the ranking rules (pure: filters, fit, availability, capacity,
determinism), the candidates read from the database, and the matching actions (a shortlist
kept encrypted, choosing, direct allocation, switching specialist)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from caredoor.core.care.models import CareRelationship
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.matching import actions, queries, ranking
from caredoor.core.matching.models import MatchingSettings, MatchRequest, Soon
from caredoor.core.scheduling.models import AvailabilityRule
from caredoor.core.specialists.choices import TermKind
from caredoor.core.specialists.models import PublishedProfile, SpecialistProfile
from tests import factories
from tests.booking_helpers import make_type
from tests.specialist_helpers import approved_and_listed, terms

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def cand(pid: int, **fields) -> ranking.Candidate:  # type: ignore[no-untyped-def]
    defaults = {"languages": frozenset({"en"})}
    return ranking.Candidate(profile_id=pid, **{**defaults, **fields})


RULES = ranking.Rules(weight_fit=50, weight_soon=30, weight_capacity=20, max_active_patients=10)


# --- the rules, pure -----------------------------------------------------------------------


def test_language_is_a_hard_filter():
    wish = ranking.Wish(languages=frozenset({"de"}))
    ranked = ranking.rank(
        [cand(1, languages=frozenset({"en"})), cand(2, languages=frozenset({"de", "en"}))],
        wish,
        RULES,
        now=NOW,
    )
    assert [r.profile_id for r in ranked] == [2]
    assert ranking.Reason(ranking.R_LANGUAGE, "de") in ranked[0].reasons
    # Without a language wish nobody is filtered out.
    assert len(ranking.rank([cand(1), cand(2)], ranking.Wish(), RULES, now=NOW)) == 2


def test_format_and_new_patient_filters():
    wish = ranking.Wish(format="video")
    ranked = ranking.rank(
        [
            cand(1, formats=frozenset({"phone"})),
            cand(2, formats=frozenset({"video"})),
            cand(3),  # declared no formats: not excluded
            cand(4, formats=frozenset({"video"}), accepts_new_patients=False),
        ],
        wish,
        RULES,
        now=NOW,
    )
    assert sorted(r.profile_id for r in ranked) == [2, 3]


def test_specialization_fit_is_the_covered_share():
    wish = ranking.Wish(specializations=frozenset({10, 11}))
    full, half, none = (
        cand(1, specializations=frozenset({10, 11, 12})),
        cand(2, specializations=frozenset({11})),
        cand(3),
    )
    assert ranking.fit_part(full, wish) == 1.0
    assert ranking.fit_part(half, wish) == 0.5
    assert ranking.fit_part(none, wish) == 0.0
    assert ranking.fit_part(none, ranking.Wish()) == 1.0  # nothing asked, nothing unmet
    ranked = ranking.rank([none, half, full], wish, RULES, now=NOW)
    assert [r.profile_id for r in ranked] == [1, 2, 3]
    assert [x.value for x in ranked[1].reasons if x.code == ranking.R_SPECIALIZATION] == ["11"]


def test_earlier_free_slot_scores_higher_within_the_horizon_only():
    wish = ranking.Wish(horizon_days=7)
    soon, later, beyond, never = (
        cand(1, first_free=NOW + timedelta(days=1)),
        cand(2, first_free=NOW + timedelta(days=5)),
        cand(3, first_free=NOW + timedelta(days=8)),
        cand(4),
    )
    parts = [ranking.soon_part(c, wish, NOW) for c in (soon, later, beyond, never)]
    assert parts[0] > parts[1] > 0 and parts[2] == 0 and parts[3] == 0
    ranked = ranking.rank([never, beyond, later, soon], wish, RULES, now=NOW)
    assert [r.profile_id for r in ranked] == [1, 2, 3, 4]
    reason = next(x for x in ranked[0].reasons if x.code == ranking.R_SOON)
    assert datetime.fromisoformat(reason.value) == NOW + timedelta(days=1)
    assert not any(x.code == ranking.R_SOON for x in ranked[2].reasons)


def test_capacity_prefers_room_and_gives_none_when_full():
    full, busy, free = cand(1, active_patients=10), cand(2, active_patients=7), cand(3)
    assert ranking.capacity_part(full, RULES) == 0.0
    assert ranking.capacity_part(busy, RULES) == pytest.approx(0.3)
    ranked = ranking.rank([full, busy, free], ranking.Wish(), RULES, now=NOW)
    assert [r.profile_id for r in ranked] == [3, 2, 1]
    assert ranking.Reason(ranking.R_CAPACITY) in ranked[0].reasons
    assert ranking.Reason(ranking.R_CAPACITY) not in ranked[2].reasons


def test_weights_decide_between_rules():
    wish = ranking.Wish(specializations=frozenset({10}), horizon_days=14)
    fits = cand(1, specializations=frozenset({10}))
    soon = cand(2, first_free=NOW + timedelta(hours=1))
    fit_first = ranking.Rules(weight_fit=100, weight_soon=0, weight_capacity=0)
    soon_first = ranking.Rules(weight_fit=0, weight_soon=100, weight_capacity=0)
    assert ranking.rank([fits, soon], wish, fit_first, now=NOW)[0].profile_id == 1
    assert ranking.rank([fits, soon], wish, soon_first, now=NOW)[0].profile_id == 2
    assert ranking.rank([fits], wish, fit_first, now=NOW)[0].score == 100


def test_exclusion_and_limit():
    ranked = ranking.rank(
        [cand(i) for i in range(1, 6)], ranking.Wish(), RULES, now=NOW, exclude=[2], limit=3
    )
    assert [r.profile_id for r in ranked] == [1, 3, 4]


candidates_strategy = st.lists(
    st.builds(
        ranking.Candidate,
        profile_id=st.integers(1, 10_000),
        languages=st.frozensets(st.sampled_from(["de", "en", "fr"]), max_size=3),
        specializations=st.frozensets(st.integers(1, 5), max_size=5),
        formats=st.frozensets(st.sampled_from(["video", "phone"]), max_size=2),
        accepts_new_patients=st.sampled_from([None, True, False]),
        active_patients=st.integers(0, 30),
        first_free=st.one_of(
            st.none(), st.integers(0, 30 * 24 * 60).map(lambda m: NOW + timedelta(minutes=m))
        ),
    ),
    max_size=12,
    unique_by=lambda c: c.profile_id,
)
wish_strategy = st.builds(
    ranking.Wish,
    languages=st.frozensets(st.sampled_from(["de", "en", "fr"]), max_size=2),
    specializations=st.frozensets(st.integers(1, 5), max_size=3),
    format=st.sampled_from(["", "video", "phone"]),
    horizon_days=st.integers(1, 30),
)


@settings(max_examples=150, deadline=None)
@given(candidates_strategy, wish_strategy, st.randoms())
def test_ranking_is_deterministic_filtered_and_sorted(candidates, wish, rnd):
    first = ranking.rank(candidates, wish, RULES, now=NOW)
    shuffled = list(candidates)
    rnd.shuffle(shuffled)
    assert ranking.rank(shuffled, wish, RULES, now=NOW) == first  # order of input is irrelevant
    by_id = {c.profile_id: c for c in candidates}
    for r in first:
        c = by_id[r.profile_id]
        assert 0 <= r.score <= 100
        assert not wish.languages or wish.languages & c.languages
        assert c.accepts_new_patients is not False
    kept = {r.profile_id for r in first}
    assert kept == {c.profile_id for c in candidates if ranking.passes(c, wish)}
    scores = [r.score for r in first]
    assert scores == sorted(scores, reverse=True)


# --- the database side ---------------------------------------------------------------------


def add_specialist(
    side, name, *, languages=("en",), topics=(), hours=True, accepts=True, brands=None
):  # type: ignore[no-untyped-def]
    """Another specialist of ``side``'s network, listed on ``brands`` (default the side's
    brand), with the given public languages and specializations, open 09-17 Berlin."""
    user = factories.make_user(f"{name.lower().replace(' ', '.')}@example.test", name=name)
    factories.grant(user, "specialist", network=side.network)
    profile, _ = approved_and_listed(side, user, brands or [side.brand], name=name)
    published = PublishedProfile.objects.get(profile=profile)
    published.data = {
        **published.data,
        "languages": list(languages),
        "practice_preferences": {
            "session_formats": ["video"],
            "accepts_new_patients": accepts,
        },
    }
    published.save()
    published.specializations.set(terms(side.network, TermKind.SPECIALIZATION, *topics))
    if hours:
        for weekday in range(7):
            AvailabilityRule.objects.create(
                profile=profile, weekday=weekday, start_time=time(9), end_time=time(17)
            )
        make_type(profile)
    return SpecialistProfile.objects.get(pk=profile.pk)


def topic_ids(side, *names):  # type: ignore[no-untyped-def]
    return tuple(t.pk for t in terms(side.network, TermKind.SPECIALIZATION, *names))


@pytest.fixture
def trio(world):  # type: ignore[no-untyped-def]
    """Three specialists on a.brand: German anxiety, English anxiety+sleep, German sleep
    without hours."""
    a = world.a
    return (
        add_specialist(a, "Dora Deutsch", languages=("de",), topics=("Anxiety",)),
        add_specialist(a, "Eli English", languages=("en",), topics=("Anxiety", "Sleep")),
        add_specialist(a, "Greta Gone", languages=("de",), topics=("Sleep",), hours=False),
    )


def test_candidates_read_the_published_facts(world, trio):
    from django.utils import timezone

    dora, eli, greta = trio
    found = {
        c.profile_id: c for c in queries.candidates(world.a.brand, now=timezone.now(), days=14)
    }
    assert set(found) == {dora.pk, eli.pk, greta.pk}
    assert found[dora.pk].languages == {"de"}
    assert found[eli.pk].specializations == set(topic_ids(world.a, "Anxiety", "Sleep"))
    assert found[dora.pk].first_free is not None and found[greta.pk].first_free is None
    assert found[dora.pk].accepts_new_patients is True
    # Not listed on the sister brand: nobody there.
    assert queries.candidates(world.a.sister, now=timezone.now(), days=14) == []
    # Capacity counts active relationships (on every brand).
    CareRelationship.objects.create(
        brand=world.a.sister, patient=world.a.patient, profile=eli, source="directory"
    )
    assert queries.active_patient_counts([eli.pk]) == {eli.pk: 1}


def test_candidates_first_free_is_the_first_slot_of_the_session_types_offered(world, trio):
    from django.utils import timezone

    from caredoor.core.booking.actions import next_free_slots
    from caredoor.core.scheduling.models import SessionType

    dora, eli, _greta = trio
    now = timezone.now()

    def first_free(**kwargs):  # type: ignore[no-untyped-def]
        found = queries.candidates(world.a.brand, now=now, days=14, **kwargs)
        return {c.profile_id: c.first_free for c in found}

    dora_type = SessionType.objects.get(profile=dora)
    assert first_free()[dora.pk] == next_free_slots(dora_type, now=now, limit=1)[0].start
    # A type patients cannot book directly counts only where staff propose (assisted).
    SessionType.objects.filter(profile=eli).update(direct_booking=False)
    eli_type = SessionType.objects.get(profile=eli)
    assert first_free()[eli.pk] is None
    assert first_free(direct_only=False)[eli.pk] == next_free_slots(eli_type, now=now)[0].start


def test_run_match_keeps_an_encrypted_shortlist_with_reasons(world, trio):
    dora, _eli, greta = trio
    answers = actions.Answers(
        languages=("de",), specializations=topic_ids(world.a, "Anxiety"), soon=Soon.WEEK
    )
    match = actions.do_run_match(user=world.a.patient, brand=world.a.brand, answers=answers)
    assert match.profile_ids == [dora.pk, greta.pk]  # Eli speaks no German
    assert (
        "specializations" not in match.answers_encrypted and '"code"' not in match.reasons_encrypted
    )
    read = actions.read_match(match, reader=world.a.patient, role="patient")
    assert read.answers == answers
    codes = {r["code"] for r in read.reasons[dora.pk]}
    assert codes == {"language", "specialization", "soon", "capacity"}
    event = AuditEvent.objects.get(action="matching.ran")
    assert event.data["shortlist"] == [dora.pk, greta.pk]
    assert "Anxiety" not in json.dumps(event.data)
    assert AuditEvent.objects.filter(action="matching.read", target_id=str(match.pk)).count() == 1
    assert match.chosen_profile is None  # no direct allocation by default


def test_shortlist_size_and_bad_answers(world, trio):
    MatchingSettings.objects.create(brand=world.a.brand, shortlist_size=1)
    match = actions.do_run_match(
        user=world.a.patient, brand=world.a.brand, answers=actions.Answers()
    )
    assert len(match.shortlist) == 1
    with pytest.raises(ValidationError):
        actions.do_run_match(
            user=world.a.patient,
            brand=world.a.brand,
            answers=actions.Answers(specializations=(999999,)),
        )
    with pytest.raises(ValidationError):
        actions.do_run_match(
            user=world.a.patient, brand=world.a.brand, answers=actions.Answers(soon="never")
        )
    assert MatchRequest.objects.count() == 1


def test_choose_allocates_with_source_matching(world, trio):
    dora, eli, greta = trio
    match = actions.do_run_match(
        user=world.a.patient, brand=world.a.brand, answers=actions.Answers(languages=("de",))
    )
    with pytest.raises(ValidationError):
        actions.do_choose(match, eli.pk, actor=world.a.patient)  # not on the shortlist
    rel = actions.do_choose(match, dora.pk, actor=world.a.patient)
    assert (rel.source, rel.profile_id, rel.patient_id, rel.brand_id) == (
        "matching",
        dora.pk,
        world.a.patient.pk,
        world.a.brand.pk,
    )
    match.refresh_from_db()
    assert match.chosen_profile_id == dora.pk and match.relationship_id == rel.pk
    with pytest.raises(ValidationError):
        actions.do_choose(match, greta.pk, actor=world.a.patient)
    assert CareRelationship.objects.filter(patient=world.a.patient).count() == 1


def test_direct_allocation_allocates_the_best_match(world, trio):
    dora, _eli, _greta = trio
    MatchingSettings.objects.create(brand=world.a.brand, direct_allocation=True)
    match = actions.do_run_match(
        user=world.a.patient,
        brand=world.a.brand,
        answers=actions.Answers(languages=("de",), specializations=topic_ids(world.a, "Anxiety")),
    )
    assert match.chosen_profile_id == dora.pk
    assert CareRelationship.objects.get(patient=world.a.patient).source == "matching"


def test_switch_ends_the_relationship_and_excludes_the_old_specialist(world, trio):
    _dora, eli, _greta = trio
    match = actions.do_run_match(
        user=world.a.patient, brand=world.a.brand, answers=actions.Answers()
    )
    rel = actions.do_choose(match, match.profile_ids[0], actor=world.a.patient)
    again = actions.do_switch(rel, patient=world.a.patient, answers=actions.Answers(), reason="fit")
    rel.refresh_from_db()
    assert rel.ended_at is not None and rel.end_reason == "switched"
    assert rel.profile_id not in again.profile_ids and len(again.profile_ids) == 2
    assert again.excluded_profile_id == rel.profile_id and again.switch_reason == "fit"
    with pytest.raises(ValidationError):  # already ended
        actions.do_switch(rel, patient=world.a.patient, answers=actions.Answers(), reason="fit")
    other = CareRelationship.objects.create(
        brand=world.a.brand, patient=world.a.org_admin, profile=eli, source="directory"
    )
    with pytest.raises(ValidationError):  # not the patient's own
        actions.do_switch(other, patient=world.a.patient, answers=actions.Answers(), reason="fit")
    other.refresh_from_db()
    assert other.ended_at is None


def test_full_or_closed_specialists(world, trio):
    dora, _eli, greta = trio
    published = PublishedProfile.objects.get(profile=greta)
    published.data["practice_preferences"]["accepts_new_patients"] = False
    published.save()
    MatchingSettings.objects.create(brand=world.a.brand, max_active_patients=1)
    CareRelationship.objects.create(
        brand=world.a.brand, patient=world.a.org_admin, profile=dora, source="directory"
    )
    ranked = actions.rank_for(world.a.brand, actions.Answers(languages=("de",)), now=NOW)
    assert [r.profile_id for r in ranked] == [dora.pk]  # Greta takes no new patients
    assert ranked[0].parts["capacity"] == 0.0


def test_settings_are_validated_and_audited(world):
    with pytest.raises(ValidationError):
        actions.do_save_settings(world.a.brand, {"shortlist_size": 0}, actor=world.a.operator)
    with pytest.raises(ValidationError):
        actions.do_save_settings(
            world.a.brand,
            {"weight_fit": 0, "weight_soon": 0, "weight_capacity": 0},
            actor=world.a.operator,
        )
    assert not MatchingSettings.objects.exists()
    row = actions.do_save_settings(
        world.a.brand, {"shortlist_size": 5, "direct_allocation": True}, actor=world.a.operator
    )
    assert queries.settings_for(world.a.brand).pk == row.pk and row.shortlist_size == 5
    assert AuditEvent.objects.get(action="matching.settings_saved").data == {
        "shortlist_size": 5,
        "direct_allocation": True,
    }
    assert queries.settings_for(world.a.sister).pk is None  # defaults elsewhere
