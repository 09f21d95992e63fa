"""The directory page (``/specialists/``) and compare (``/specialists/compare/``): filters
in the address, chips, paging that keeps the filters, invalid values, brand scoping, the
first free time in the viewer's zone, and a bounded number of queries."""

from __future__ import annotations

import re
from datetime import time, timedelta
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.utils import timezone

from caredoor.core.booking.actions import next_free_slots
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.choices import TermKind
from caredoor.core.specialists.models import Term
from caredoor.portals.patient.booking_display import when
from tests import factories
from tests.booking_helpers import BERLIN
from tests.directory_helpers import listed_specialist


def text(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return unescape(response.content.decode())


def card_names(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(
        r'class="sp-card__name"><a href="/specialists/\d+/">([^<]+)</a>', text(response)
    )


def term(world, kind: str, name: str) -> int:  # type: ignore[no-untyped-def]
    return Term.objects.get(network=world.a.network, kind=kind, name=name).pk


@pytest.fixture
def three(world):  # type: ignore[no-untyped-def]
    a = world.a
    return (
        listed_specialist(
            a,
            "Anna Early",
            languages=("de", "en"),
            specializations=("Anxiety",),
            categories=("Therapy",),
            price=12000,
        ),
        listed_specialist(
            a,
            "Bo Late",
            languages=("fr",),
            specializations=("Grief",),
            categories=("Coaching",),
            price=6000,
        ),
        listed_specialist(
            a,
            "Cy Middle",
            languages=("en",),
            specializations=("Anxiety",),
            categories=("Coaching",),
            price=9000,
        ),
    )


def test_the_page_offers_the_filters_of_this_brand(world, client_for, three):
    listed_specialist(world.b, "Other Net", languages=("it",), specializations=("Anger",))
    page = text(client_for(None, world.a.brand).get("/specialists/"))
    assert 'role="search"' in page
    for label in ("Anxiety", "Grief", "Coaching", "Therapy", "German", "French", "English"):
        assert f">{label}</label>" in page, label
    assert "Anger" not in page and "Italian" not in page
    assert 'name="price_min"' in page and 'name="price_max"' in page
    assert 'type="date"' in page and 'name="available_from"' in page
    assert "3 specialists" in page
    assert card_names(client_for(None, world.a.brand).get("/specialists/?sort=name")) == [
        "Anna Early",
        "Bo Late",
        "Cy Middle",
    ]


def test_each_filter_through_the_address(world, client_for, three):
    client = client_for(None, world.a.brand)
    anxiety = term(world, TermKind.SPECIALIZATION, "Anxiety")
    coaching = term(world, TermKind.CATEGORY, "Coaching")
    cases = {
        "q=anna": ["Anna Early"],
        f"specialization={anxiety}&sort=name": ["Anna Early", "Cy Middle"],
        f"category={coaching}&sort=name": ["Bo Late", "Cy Middle"],
        "language=fr": ["Bo Late"],
        "language=de&language=fr&sort=name": ["Anna Early", "Bo Late"],
        "price_min=80&price_max=100": ["Cy Middle"],
        "price_max=90.00&sort=price_desc": ["Cy Middle", "Bo Late"],
        "sort=price_asc": ["Bo Late", "Cy Middle", "Anna Early"],
        f"specialization={anxiety}&category={coaching}": ["Cy Middle"],
        f"specialization={anxiety}&language=fr": [],
    }
    for query, expected in cases.items():
        assert card_names(client.get(f"/specialists/?{query}")) == expected, query


def test_active_filters_are_removable_chips(world, client_for, three):
    anxiety = term(world, TermKind.SPECIALIZATION, "Anxiety")
    client = client_for(None, world.a.brand)
    page = text(client.get(f"/specialists/?specialization={anxiety}&language=en&sort=name"))
    assert "2 specialists match" in page
    chips = dict(
        (label.strip(), href)
        for href, label in re.findall(r'<a class="chip" href="([^"]+)">([^<]+)<', page)
    )
    assert set(chips) == {"Anxiety", "English"}
    # Removing "English" keeps the specialization and the sort.
    assert sorted(parse_qsl(urlsplit(chips["English"]).query)) == [
        ("sort", "name"),
        ("specialization", str(anxiety)),
    ]
    assert card_names(client.get(f"/specialists/{chips['Anxiety']}")) == [
        "Anna Early",
        "Cy Middle",
    ]
    # The checkboxes stay ticked.
    assert re.search(rf'value="{anxiety}"[^>]*checked', page) or re.search(
        rf'checked[^>]*value="{anxiety}"', page
    )


def test_paging_keeps_every_filter(world, client_for):
    for i in range(14):
        listed_specialist(world.a, f"Page Person {i:02}", languages=("en",), price=5000 + i)
    listed_specialist(world.a, "Speaks Only Dutch", languages=("nl",))
    client = client_for(None, world.a.brand)
    first = client.get("/specialists/?language=en&price_min=50&sort=name")
    assert len(card_names(first)) == 12
    assert "14 specialists match" in text(first)
    assert "Page 1 of 2" in text(first)
    next_link = re.search(r'href="([^"]+)" rel="next"', text(first)).group(1)
    assert dict(parse_qsl(urlsplit(next_link).query)) == {
        "language": "en",
        "price_min": "50",
        "sort": "name",
        "page": "2",
    }
    second = client.get(f"/specialists/{next_link}")
    assert card_names(second) == ["Page Person 12", "Page Person 13"]
    previous = re.search(r'href="([^"]+)" rel="prev"', text(second)).group(1)
    assert "language=en" in previous and "page=1" in previous
    # A page number out of range or not a number shows a real page, not an error.
    assert len(card_names(client.get("/specialists/?language=en&page=99"))) == 2
    assert len(card_names(client.get("/specialists/?language=en&page=x"))) == 12


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("specialization=999999", "Select a valid choice"),
        ("specialization=abc", "Select a valid choice"),
        ("language=xx", "Select a valid choice"),
        ("price_min=cheap", "Enter a number"),
        ("price_min=-5", "greater than or equal to 0"),
        ("price_min=100&price_max=50", "must not be below the lowest"),
        ("available_from=tomorrow", "Enter a valid date"),
        ("available_from=2030-05-10&available_to=2030-05-01", "must not be before the first"),
        ("available_from=2020-01-01&available_to=2020-01-02", "from today on"),
        ("sort=random", "Select a valid choice"),
    ],
)
def test_an_invalid_value_is_reported_and_ignored(world, client_for, three, query, message):
    response = client_for(None, world.a.brand).get(f"/specialists/?{query}")
    page = text(response)
    assert "Some filters could not be used" in page
    assert message in page
    # The rest of the search still ran (a reversed price range keeps its lowest price).
    assert len(card_names(response)) == (1 if "price_max=50" in query else 3)


def test_an_invalid_value_is_dropped_from_the_paging_links(world, client_for):
    for i in range(13):
        listed_specialist(world.a, f"P {i:02}")
    page = text(client_for(None, world.a.brand).get("/specialists/?language=xx&q=P"))
    next_link = re.search(r'href="([^"]+)" rel="next"', page).group(1)
    assert dict(parse_qsl(urlsplit(next_link).query)) == {"q": "P", "page": "2"}


def test_an_empty_result_says_so_and_offers_to_clear(world, client_for, three):
    page = text(client_for(None, world.a.brand).get("/specialists/?q=nobody&sort=name"))
    assert "0 specialists match" in page
    assert "No specialist matches these filters." in page
    assert '<a href="/specialists/?sort=name">Clear all filters</a>' in page


def test_cards_show_the_first_free_time_in_the_viewers_zone_and_links(world, client_for, three):
    anna = three[0]
    session_type = SessionType.objects.get(profile=anna)
    first = next_free_slots(session_type, limit=1)[0]
    world.a.patient.time_zone = "America/New_York"
    world.a.patient.save()
    from zoneinfo import ZoneInfo

    page = text(client_for(world.a.patient, world.a.brand).get("/specialists/?q=anna"))
    assert "Times in America/New York" in page
    assert f"Next available:</span> <strong>{when(first.start, ZoneInfo('America/New_York'))}" in (
        page
    )
    assert f'href="/specialists/{anna.pk}/book/?type={session_type.pk}"' in page
    assert f'href="/specialists/{anna.pk}/"' in page
    assert "120.00 EUR" in page
    assert "German, English" in page


def test_available_between_uses_the_viewers_days_and_real_bookings(world, client_for):
    from caredoor.core.booking.actions import do_book
    from caredoor.core.scheduling.models import AvailabilityRule

    profile = listed_specialist(world.a, "Una Slot", hours=None)
    day = timezone.now().astimezone(BERLIN).date() + timedelta(days=3)
    AvailabilityRule.objects.create(
        profile=profile, weekday=day.weekday(), start_time=time(10), end_time=time(10, 50)
    )
    listed_specialist(world.a, "Never Open", hours=None)
    client = client_for(world.a.patient, world.a.brand)  # Berlin: the brand's zone
    url = f"/specialists/?available_from={day}&available_to={day}"
    page = text(client.get(url))
    assert card_names(client.get(url)) == ["Una Slot"]
    assert "First free time in your dates:" in page
    # In Tokyo the same 10:00 Berlin is 17:00 or 18:00 on the same day: still that day.
    world.a.patient.time_zone = "Asia/Tokyo"
    world.a.patient.save()
    assert card_names(client.get(url)) == ["Una Slot"]
    # In Honolulu it is the evening before: the day itself has nothing.
    world.a.patient.time_zone = "Pacific/Honolulu"
    world.a.patient.save()
    assert card_names(client.get(url)) == []
    before = day - timedelta(days=1)
    assert card_names(
        client.get(f"/specialists/?available_from={before}&available_to={before}")
    ) == ["Una Slot"]
    world.a.patient.time_zone = "Europe/Berlin"
    world.a.patient.save()
    do_book(
        patient=world.a.patient,
        brand=world.a.brand,
        session_type=SessionType.objects.get(profile=profile),
        start=__import__("datetime").datetime.combine(day, time(10), BERLIN),
    )
    assert card_names(client.get(url)) == []
    assert "No specialist matches these filters." in text(client.get(url))


def test_the_price_filter_is_hidden_where_everyone_costs_the_same(world, client_for, covered):
    listed_specialist(world.a, "Covered One", brands=[covered])
    listed_specialist(world.a, "Covered Two", brands=[covered])
    patient = factories.make_user("covered.patient@example.test")
    factories.grant(patient, "patient", network=world.a.network, brand=covered)
    client = client_for(patient, covered)
    page = text(client.get("/specialists/"))
    assert 'name="price_min"' not in page
    assert 'value="price_asc"' not in page
    assert "Covered by your program" in page
    # A price in the address changes nothing and is not an error.
    response = client.get("/specialists/?price_min=1000&sort=name")
    assert card_names(response) == ["Covered One", "Covered Two"]
    assert "Some filters could not be used" not in text(response)


def test_private_brands_need_their_own_signed_in_patients(world, client_for, covered):
    one = listed_specialist(world.a, "Covered One", brands=[covered])
    two = listed_specialist(world.a, "Covered Two", brands=[covered])
    for path in ("/specialists/?q=Covered", f"/specialists/compare/?id={one.pk}&id={two.pk}"):
        response = client_for(None, covered).get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        for user in (world.a.patient, world.a.specialist, world.a.operator, world.b.patient):
            assert client_for(user, covered).get(path).status_code == 403


def test_another_brands_specialist_never_appears(world, client_for, three):
    sister = listed_specialist(world.a, "Sister Only", brands=[world.a.sister])
    other = listed_specialist(world.b, "Other Network", languages=("en",))
    for user in (None, world.a.patient, world.b.patient, world.a.operator, world.outsider):
        client = client_for(user, world.a.brand)
        for query in ("", "?q=Only", "?q=Network", "?language=en", "?sort=price_asc"):
            page = text(client.get(f"/specialists/{query}"))
            assert "Sister Only" not in page and "Other Network" not in page
    compare = text(
        client_for(None, world.a.brand).get(
            f"/specialists/compare/?id={sister.pk}&id={other.pk}&id={three[0].pk}"
        )
    )
    assert "Sister Only" not in compare and "Other Network" not in compare
    assert "Choose two or three specialists to compare." in compare


def test_compare_side_by_side(world, client_for, three):
    anna, bo, cy = three
    client = client_for(None, world.a.brand)
    page = text(client.get(f"/specialists/compare/?id={bo.pk}&id={anna.pk}"))
    assert page.index("Bo Late") < page.index("Anna Early")
    for expected in (
        "60.00 EUR",
        "120.00 EUR",
        "French",
        "German, English",
        "Grief",
        "Anxiety",
        "Coaching",
        "Therapy",
        "Video",
        f'href="/specialists/{bo.pk}/book/?type=',
        "Next available",
    ):
        assert expected in page, expected
    # More than three: the first three, and a note.
    four = listed_specialist(world.a, "Dee Fourth")
    many = text(
        client.get(f"/specialists/compare/?id={anna.pk}&id={bo.pk}&id={cy.pk}&id={four.pk}")
    )
    assert "Cy Middle" in many and "Dee Fourth" not in many
    assert "the first 3 are shown" in many
    # One, none, or junk: a message, no table, no error.
    for query in (f"id={anna.pk}", "", "id=abc", f"id={anna.pk}&id={anna.pk}"):
        response = client.get(f"/specialists/compare/?{query}")
        assert "Choose two or three specialists to compare." in text(response), query
        assert "<table" not in text(response)


def test_compare_returns_to_the_filtered_directory(world, client_for, three):
    anna, bo, _cy = three
    client = client_for(None, world.a.brand)
    page = text(client.get("/specialists/?language=en&sort=name"))
    back = re.search(r'name="back" value="([^"]+)"', page).group(1)
    assert dict(parse_qsl(back)) == {"language": "en", "sort": "name"}
    compare = text(
        client.get(
            "/specialists/compare/",
            {"id": [anna.pk, bo.pk], "back": back + "&evil=https://x.test"},
        )
    )
    link = re.search(r'<a href="([^"]+)">Back to the directory', compare).group(1)
    assert link.startswith("/specialists/?")
    assert dict(parse_qsl(urlsplit(link).query)) == {"language": "en", "sort": "name"}


def test_the_list_needs_the_same_queries_for_one_page_or_another(
    world, client_for, django_assert_max_num_queries
):
    for i in range(4):
        listed_specialist(world.a, f"Few {i}", specializations=("Anxiety",))
    anxiety = term(world, TermKind.SPECIALIZATION, "Anxiety")
    client = client_for(world.a.patient, world.a.brand)
    day = timezone.now().astimezone(BERLIN).date() + timedelta(days=2)
    url = f"/specialists/?specialization={anxiety}&language=en&available_from={day}"
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert len(card_names(client.get(url))) == 4
    for i in range(10):
        listed_specialist(world.a, f"Many {i}", specializations=("Anxiety",))
    with CaptureQueriesContext(connection) as many:
        assert len(card_names(client.get(url))) == 12
    assert len(many.captured_queries) == len(few.captured_queries)
    with django_assert_max_num_queries(22):
        client.get(url + "&sort=name")
