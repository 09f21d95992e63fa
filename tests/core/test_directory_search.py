"""The directory's search (``caredoor.core.matching.search``): filters, sorting, the first
free time from real availability, brand scoping and a bounded number of queries."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from caredoor.core.booking.actions import do_book
from caredoor.core.matching import search
from caredoor.core.matching.search import DirectoryQuery, Sort
from caredoor.core.scheduling.models import AvailabilityRule, SessionType
from caredoor.core.specialists.choices import TermKind
from caredoor.core.specialists.models import Term
from tests.booking_helpers import BERLIN
from tests.directory_helpers import listed_specialist


def names(result: search.SearchResult) -> list[str]:
    return [h.name for h in result.hits]


def term_ids(network, kind: str, *names_: str) -> frozenset[int]:  # type: ignore[no-untyped-def]
    return frozenset(
        Term.objects.filter(network=network, kind=kind, name__in=names_).values_list(
            "pk", flat=True
        )
    )


@pytest.fixture
def three(world):  # type: ignore[no-untyped-def]
    """Three specialists on brand A with different languages, terms, prices and hours."""
    a = world.a
    anna = listed_specialist(
        a,
        "Anna Early",
        languages=("de", "en"),
        specializations=("Anxiety", "Sleep"),
        categories=("Therapy",),
        price=12000,
        hours=(time(7), time(9)),
    )
    bo = listed_specialist(
        a,
        "Bo Late",
        languages=("fr",),
        specializations=("Grief",),
        categories=("Coaching",),
        price=6000,
        hours=(time(18), time(20)),
    )
    cy = listed_specialist(
        a,
        "Cy Middle",
        languages=("en", "sv"),
        specializations=("Anxiety",),
        categories=("Coaching",),
        price=9000,
        hours=(time(12), time(14)),
    )
    return anna, bo, cy


def run(brand, now=None, **fields):  # type: ignore[no-untyped-def]
    return search.search(brand, DirectoryQuery(**fields), now=now or timezone.now())


def test_without_filters_everyone_listed_here_is_found_and_nobody_else(world, three):
    # Listed only on the sister brand, and a specialist of the other network.
    listed_specialist(world.a, "Sister Only", brands=[world.a.sister])
    listed_specialist(world.b, "Other Network")
    found = run(world.a.brand, sort=Sort.NAME)
    assert names(found) == ["Anna Early", "Bo Late", "Cy Middle"]
    assert names(run(world.a.sister, sort=Sort.NAME)) == ["Sister Only"]
    assert names(run(world.b.brand, sort=Sort.NAME)) == ["Other Network"]
    # Whatever the filters, the other brand's specialist never comes back.
    assert names(run(world.a.brand, text="Network")) == []
    assert names(run(world.a.brand, text="Sister")) == []


def test_name_search_is_case_insensitive_and_reads_the_title_too(world, three):
    assert names(run(world.a.brand, text="anna")) == ["Anna Early"]
    assert names(run(world.a.brand, text="LATE")) == ["Bo Late"]
    # Every helper profile has the title "Psychotherapist".
    assert len(run(world.a.brand, text="psychotherap").hits) == 3
    assert run(world.a.brand, text="nobody like this").hits == []


def test_specializations_match_any_chosen_one(world, three):
    net = world.a.network
    anxiety = term_ids(net, TermKind.SPECIALIZATION, "Anxiety")
    assert names(run(world.a.brand, specializations=anxiety, sort=Sort.NAME)) == [
        "Anna Early",
        "Cy Middle",
    ]
    either = term_ids(net, TermKind.SPECIALIZATION, "Grief", "Sleep")
    assert names(run(world.a.brand, specializations=either, sort=Sort.NAME)) == [
        "Anna Early",
        "Bo Late",
    ]


def test_categories_and_languages(world, three):
    coaching = term_ids(world.a.network, TermKind.CATEGORY, "Coaching")
    assert names(run(world.a.brand, categories=coaching, sort=Sort.NAME)) == [
        "Bo Late",
        "Cy Middle",
    ]
    assert names(run(world.a.brand, languages=frozenset({"de"}))) == ["Anna Early"]
    assert names(run(world.a.brand, languages=frozenset({"fr", "sv"}), sort=Sort.NAME)) == [
        "Bo Late",
        "Cy Middle",
    ]
    # "en" must not match inside another code or a name.
    assert names(run(world.a.brand, languages=frozenset({"e"}))) == []


def test_filters_of_different_kinds_must_all_match(world, three):
    net = world.a.network
    anxiety = term_ids(net, TermKind.SPECIALIZATION, "Anxiety")
    coaching = term_ids(net, TermKind.CATEGORY, "Coaching")
    assert names(run(world.a.brand, specializations=anxiety, categories=coaching)) == ["Cy Middle"]
    assert names(run(world.a.brand, specializations=anxiety, languages=frozenset({"de"}))) == [
        "Anna Early"
    ]
    assert (
        run(
            world.a.brand,
            specializations=anxiety,
            categories=coaching,
            languages=frozenset({"de"}),
        ).hits
        == []
    )


def test_price_range_in_minor_units_both_ends_included(world, three):
    brand = world.a.brand
    assert names(run(brand, price_min_minor=9000, sort=Sort.NAME)) == ["Anna Early", "Cy Middle"]
    assert names(run(brand, price_max_minor=9000, sort=Sort.NAME)) == ["Bo Late", "Cy Middle"]
    assert names(run(brand, price_min_minor=7000, price_max_minor=10000)) == ["Cy Middle"]
    assert run(brand, price_min_minor=20000).hits == []


def test_a_fixed_price_brand_ignores_price_filters_and_sorts(world, covered):
    first = listed_specialist(world.a, "Zed Covered", brands=[covered])
    second = listed_specialist(world.a, "Amy Covered", brands=[covered])
    assert not search.price_applies(covered)
    found = run(covered, price_min_minor=100, sort=Sort.PRICE_DESC)
    assert [h.profile_id for h in found.hits] == [second.pk, first.pk]  # by name
    assert all(h.price_minor is None for h in found.hits)


def test_sorting(world, three):
    brand = world.a.brand
    listed_specialist(world.a, "Dee No Hours", price=3000, hours=None)
    assert names(run(brand, sort=Sort.NAME)) == [
        "Anna Early",
        "Bo Late",
        "Cy Middle",
        "Dee No Hours",
    ]
    assert names(run(brand, sort=Sort.PRICE_ASC)) == [
        "Dee No Hours",
        "Bo Late",
        "Cy Middle",
        "Anna Early",
    ]
    assert names(run(brand, sort=Sort.PRICE_DESC)) == [
        "Anna Early",
        "Cy Middle",
        "Bo Late",
        "Dee No Hours",
    ]
    # Soonest: by the first free time (all three open daily, Berlin time), nobody free last.
    soonest = run(brand, sort=Sort.SOONEST)
    starts = [h.first_free.slot.start for h in soonest.hits if h.first_free]
    assert starts == sorted(starts) and len(starts) == 3
    assert soonest.hits[-1].name == "Dee No Hours" and soonest.hits[-1].first_free is None
    assert soonest.availability_known
    # Relevance: more of the chosen terms first, then the soonest.
    chosen = term_ids(world.a.network, TermKind.SPECIALIZATION, "Anxiety", "Sleep")
    ranked = run(brand, specializations=chosen)
    assert names(ranked) == ["Anna Early", "Cy Middle"]
    assert [h.relevance for h in ranked.hits] == [2, 1]
    # Name and price sorts leave the first free time to the page.
    assert not run(brand, sort=Sort.NAME).availability_known


def test_the_first_free_time_is_the_engines_first_slot(world, three):
    anna, _bo, _cy = three
    found = {h.profile_id: h for h in run(world.a.brand).hits}
    session_type = SessionType.objects.get(profile=anna)
    from caredoor.core.booking.actions import next_free_slots

    first = next_free_slots(session_type, limit=1)[0]
    assert found[anna.pk].first_free.slot.start == first.start
    assert found[anna.pk].first_free.session_type_id == session_type.pk


def _only_slot_profile(world):  # type: ignore[no-untyped-def]
    """A specialist open 10:00-10:50 Berlin time on one weekday only: one slot a week."""
    profile = listed_specialist(world.a, "Una Slot", hours=None)
    day = timezone.now().astimezone(BERLIN).date() + timedelta(days=3)
    AvailabilityRule.objects.create(
        profile=profile, weekday=day.weekday(), start_time=time(10), end_time=time(10, 50)
    )
    return profile, day


def _day_range(day, days=1):  # type: ignore[no-untyped-def]
    start = datetime.combine(day, time(0), BERLIN)
    return {"available_from": start, "available_until": start + timedelta(days=days)}


def test_availability_in_a_date_range_uses_real_rules_and_bookings(world):
    profile, day = _only_slot_profile(world)
    listed_specialist(world.a, "Always Open", hours=(time(0), time(23, 59)))
    brand = world.a.brand
    on_the_day = run(brand, sort=Sort.NAME, **_day_range(day))
    assert names(on_the_day) == ["Always Open", "Una Slot"]
    hit = next(h for h in on_the_day.hits if h.name == "Una Slot")
    assert hit.first_free.slot.start == datetime.combine(day, time(10), BERLIN)
    # The day before: no hours for Una.
    assert names(run(brand, **_day_range(day - timedelta(days=1)))) == ["Always Open"]
    # A booking takes the only slot: Una no longer matches that day.
    session_type = SessionType.objects.get(profile=profile)
    do_book(
        patient=world.a.patient,
        brand=brand,
        session_type=session_type,
        start=datetime.combine(day, time(10), BERLIN),
    )
    assert names(run(brand, **_day_range(day))) == ["Always Open"]
    # A week later the slot is free again.
    assert "Una Slot" in names(run(brand, **_day_range(day + timedelta(days=7))))


def test_a_range_in_the_past_or_beyond_the_horizon_finds_nobody(world):
    listed_specialist(world.a, "Always Open", hours=(time(0), time(23, 59)))
    today = timezone.now().astimezone(BERLIN).date()
    assert run(world.a.brand, **_day_range(today - timedelta(days=5), 2)).hits == []
    # The session type's horizon is 60 days.
    assert run(world.a.brand, **_day_range(today + timedelta(days=70))).hits == []


def test_invitation_only_session_types_give_no_free_time(world):
    listed_specialist(world.a, "Invite Only", direct_booking=False)
    hit = run(world.a.brand).hits[0]
    assert hit.first_free is None
    day = timezone.now().astimezone(BERLIN).date() + timedelta(days=2)
    assert run(world.a.brand, **_day_range(day)).hits == []


def test_options_list_only_what_visible_specialists_have(world, three):
    listed_specialist(
        world.a, "Hidden Elsewhere", brands=[world.a.sister], languages=("pl",),
        specializations=("Trauma",),
    )  # fmt: skip
    listed_specialist(world.b, "Other Net", languages=("it",), specializations=("Anger",))
    languages = dict(search.languages_in_use(world.a.brand))
    assert set(languages) == {"de", "en", "fr", "sv"}
    assert languages["de"] == "German"
    specs = [t.name for t in search.terms_in_use(world.a.brand, TermKind.SPECIALIZATION)]
    assert specs == ["Anxiety", "Grief", "Sleep"]
    cats = [t.name for t in search.terms_in_use(world.a.brand, TermKind.CATEGORY)]
    assert cats == ["Coaching", "Therapy"]


def test_compare_keeps_order_and_drops_what_is_not_visible_here(world, three):
    anna, bo, cy = three
    sister = listed_specialist(world.a, "Sister Only", brands=[world.a.sister])
    other = listed_specialist(world.b, "Other Network")
    chosen = search.compare(
        world.a.brand, [cy.pk, other.pk, sister.pk, anna.pk, bo.pk], now=timezone.now()
    )
    assert [p.profile_id for p, _ in chosen] == [cy.pk, anna.pk, bo.pk]
    assert all(first is not None for _, first in chosen)
    assert search.compare(world.a.brand, [other.pk, sister.pk, 999999], now=timezone.now()) == []


def test_the_search_needs_the_same_queries_for_few_or_many(world, django_assert_max_num_queries):
    for i in range(3):
        listed_specialist(world.a, f"Few {i}", specializations=("Anxiety",))
    anxiety = term_ids(world.a.network, TermKind.SPECIALIZATION, "Anxiety")
    day = timezone.now().astimezone(BERLIN).date() + timedelta(days=2)
    query = {"specializations": anxiety, "languages": frozenset({"en"}), **_day_range(day)}

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            found = run(world.a.brand, **query)
        return len(ctx.captured_queries), len(found.hits)

    few, n = count()
    assert n == 3
    for i in range(9):
        listed_specialist(world.a, f"Many {i}", specializations=("Anxiety",))
    many, n = count()
    assert n == 12
    assert many == few
    with django_assert_max_num_queries(8):
        run(world.a.brand, **query)


def test_first_free_times_ignores_ids_of_other_brands_session_types(world):
    """A session type reserved for the sister brand gives no free time on brand A."""
    profile = listed_specialist(world.a, "Both Brands", brands=[world.a.brand, world.a.sister])
    SessionType.objects.filter(profile=profile).update(brand=world.a.sister)
    assert search.first_free_times(world.a.brand, [profile.pk], now=timezone.now()) == {}
    assert profile.pk in search.first_free_times(world.a.sister, [profile.pk], now=timezone.now())
