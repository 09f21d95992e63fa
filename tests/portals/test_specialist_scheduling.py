"""The specialist's scheduling workspace: session types, weekly hours, date overrides and
the calendar. Bad input writes nothing; another specialist's objects answer 404."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from caredoor.core.booking.models import Booking
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.scheduling import actions
from caredoor.core.scheduling.models import AvailabilityRule, DateOverride, SessionType
from caredoor.core.specialists.actions import do_register_specialist
from caredoor.portals.specialist import calendar_grid as cg
from tests import factories
from tests.specialist_helpers import approved_and_listed

BERLIN = ZoneInfo("Europe/Berlin")
SYDNEY = ZoneInfo("Australia/Sydney")


# --- fixtures and helpers -----------------------------------------------------------------


@pytest.fixture
def fixed(world):
    """A brand of network A with one fixed price for every session."""
    return factories.make_brand(
        world.a.network,
        "fixed-a.test",
        name="Fixed A",
        pricing_mode="brand_fixed",
        fixed_price_minor=6500,
    )


@pytest.fixture
def listed(world, fixed):
    """Network A's specialist: approved, listed on Brand A (own price) and Fixed A, in Berlin."""
    profile, _listings = approved_and_listed(world.a, world.a.specialist, [world.a.brand, fixed])
    assert profile.time_zone == "Europe/Berlin"
    return profile


@pytest.fixture
def other(world):
    """Network B's specialist, with a session type, hours and a date override of their own."""
    profile = do_register_specialist(world.b.specialist, world.b.brand)
    st = SessionType.objects.create(profile=profile, name="Theirs", duration_minutes=30)
    rule = AvailabilityRule.objects.create(
        profile=profile, weekday=0, start_time=time(9), end_time=time(12)
    )
    override = DateOverride.objects.create(profile=profile, day=date(2027, 1, 4), windows=[])
    return profile, st, rule, override


def session_type(profile, **fields) -> SessionType:  # type: ignore[no-untyped-def]
    values = {"name": "Follow-up", "duration_minutes": 50, **fields}
    return SessionType.objects.create(profile=profile, **values)


def form_data(**overrides):  # type: ignore[no-untyped-def]
    data = {
        "name": "First session",
        "duration_minutes": "50",
        "buffer_before_minutes": "5",
        "buffer_after_minutes": "10",
        "min_notice_hours": "1.5",
        "horizon_days": "30",
        "slot_step_minutes": "30",
        "brand": "",
        "price": "",
        "booking": "direct",
    }
    data.update(overrides)
    return data


def weekday_data(weekday: int, rows, also=(), types=None):  # type: ignore[no-untyped-def]
    prefix = f"day{weekday}-"
    data = {f"{prefix}rows": str(max(len(rows), 1))}
    for i, (start, end) in enumerate(rows):
        data[f"{prefix}start_{i}"] = start
        data[f"{prefix}end_{i}"] = end
        data[f"{prefix}type_{i}"] = (types or {}).get(i, "")
    if also:
        data[f"{prefix}also"] = [str(d) for d in also]
    return data


def override_data(day: str, kind: str = "off", rows=(), note: str = ""):  # type: ignore[no-untyped-def]
    data = {"day": day, "kind": kind, "note": note, "rows": str(max(len(rows), 1))}
    for i, (start, end) in enumerate(rows):
        data[f"start_{i}"] = start
        data[f"end_{i}"] = end
    return data


def dash(text: str) -> str:
    """Times as the pages write them: ``dash("09:00-12:00")`` is 09:00, an en dash, 12:00."""
    return text.replace("-", "\u2013")


def future(days: int = 10) -> date:
    return (datetime.now(UTC).astimezone(BERLIN) + timedelta(days=days)).date()


def snapshot(profile):  # type: ignore[no-untyped-def]
    """Everything the scheduling pages could change, to compare before and after."""
    return (
        list(SessionType.objects.filter(profile=profile).values()),
        list(AvailabilityRule.objects.filter(profile=profile).values()),
        list(DateOverride.objects.filter(profile=profile).values()),
        AuditEvent.objects.count(),
    )


def booking(world, st, start: datetime, *, status: str = "confirmed", brand=None) -> Booking:  # type: ignore[no-untyped-def]
    end = start + timedelta(minutes=st.duration_minutes)
    return Booking.objects.create(
        brand=brand or world.a.brand,
        profile=st.profile,
        patient=world.a.patient,
        session_type=st,
        start=start,
        end=end,
        blocked_start=start,
        blocked_end=end,
        status=status,
        patient_time_zone="America/New_York",
        currency="EUR",
    )


# --- session types ------------------------------------------------------------------------


def test_a_session_type_is_created_with_every_setting(world, client_for, listed):
    client = client_for(world.a.specialist, world.a.brand)
    page = client.get("/specialist/session-types/new/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Price per session in EUR" in body
    assert "This brand charges one fixed price for every session: 65.00 EUR." in body
    events = AuditEvent.objects.count()
    response = client.post(
        "/specialist/session-types/new/",
        form_data(brand=str(world.a.brand.pk), price="85.50", booking="invitation"),
    )
    assert response.status_code == 302
    st = SessionType.objects.get(profile=listed)
    assert (st.name, st.duration_minutes, st.buffer_before_minutes, st.buffer_after_minutes) == (
        "First session",
        50,
        5,
        10,
    )
    assert (st.min_notice_minutes, st.horizon_days, st.slot_step_minutes) == (90, 30, 30)
    assert (st.brand, st.price_minor, st.direct_booking, st.is_active) == (
        world.a.brand,
        8550,
        False,
        True,
    )
    assert response["Location"].endswith(f"#session-type-{st.pk}")
    event = AuditEvent.objects.order_by("-seq").first()
    assert AuditEvent.objects.count() == events + 1
    assert event.action == "session_type.created" and event.target_id == str(st.pk)

    listing = client.get("/specialist/session-types/").content.decode()
    assert "First session" in listing
    assert "85.50 EUR" in listing and "your price for this session type" in listing
    assert "By invitation only" in listing and "Only on Brand A" in listing


def test_the_price_is_read_only_where_the_site_sets_it(world, client_for, listed, fixed):
    client = client_for(world.a.specialist, world.a.brand)
    before = snapshot(listed)
    response = client.post(
        "/specialist/session-types/new/", form_data(brand=str(fixed.pk), price="70")
    )
    assert response.status_code == 400
    assert "You do not set the price there" in response.content.decode()
    assert snapshot(listed) == before
    # Without a price it is fine, and the list shows the site's price.
    assert (
        client.post("/specialist/session-types/new/", form_data(brand=str(fixed.pk))).status_code
        == 302
    )
    page = client.get("/specialist/session-types/").content.decode()
    assert "65.00 EUR" in page and "set by the site" in page


def test_no_price_field_when_the_specialist_sets_no_price_anywhere(world, client_for, fixed):
    profile, _ = approved_and_listed(world.a, world.a.specialist, [fixed])
    page = client_for(world.a.specialist, world.a.brand).get("/specialist/session-types/new/")
    body = page.content.decode()
    assert 'name="price"' not in body
    assert "You do not set prices on the sites where you are listed" in body
    with pytest.raises(ValidationError) as error:
        actions.do_save_session_type(
            profile,
            {"name": "X", "duration_minutes": 50, "price_minor": 5000},
            actor=world.a.specialist,
        )
    assert "price_minor" in error.value.error_dict


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("duration_minutes", "2", "greater than or equal to 5"),
        ("duration_minutes", "", "This field is required"),
        ("name", "   ", "This field is required"),
        ("buffer_after_minutes", "-5", "greater than or equal to 0"),
        ("horizon_days", "0", "greater than or equal to 1"),
        ("slot_step_minutes", "500", "less than or equal to 240"),
        ("min_notice_hours", "soon", "Enter a number"),
        ("price", "12.345", "at most 2 decimal places"),
        ("price", "0", "greater than or equal to 0.01"),
        ("booking", "anyone", "Select a valid choice"),
    ],
)
def test_bad_session_type_input_writes_nothing(world, client_for, listed, field, value, message):
    before = snapshot(listed)
    response = client_for(world.a.specialist, world.a.brand).post(
        "/specialist/session-types/new/", form_data(**{field: value})
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert "Nothing was saved" in body
    assert snapshot(listed) == before


def test_a_brand_of_another_network_or_not_listed_is_refused(world, client_for, listed):
    client = client_for(world.a.specialist, world.a.brand)
    before = snapshot(listed)
    for brand in (world.b.brand, world.a.sister):  # other network; same network, not listed
        response = client.post("/specialist/session-types/new/", form_data(brand=str(brand.pk)))
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
    assert snapshot(listed) == before
    with pytest.raises(ValidationError) as error:
        actions.do_save_session_type(
            listed, {"name": "X", "duration_minutes": 50, "brand": world.a.sister}, actor=None
        )
    assert "brand" in error.value.error_dict
    assert snapshot(listed) == before


def test_names_are_unique_among_active_session_types(world, client_for, listed):
    st = session_type(listed, name="Intake")
    client = client_for(world.a.specialist, world.a.brand)
    before = snapshot(listed)
    response = client.post("/specialist/session-types/new/", form_data(name="intake"))
    assert response.status_code == 400
    assert "You already have a session type called" in response.content.decode()
    assert snapshot(listed) == before
    # Once the first one is no longer offered, the name is free again.
    actions.do_deactivate_session_type(st, actor=world.a.specialist)
    assert (
        client.post("/specialist/session-types/new/", form_data(name="Intake")).status_code == 302
    )
    # ... and the old one cannot come back while the new one has the name.
    response = client.post(f"/specialist/session-types/{st.pk}/reactivate/", follow=True)
    assert "You already have a session type called" in response.content.decode()
    st.refresh_from_db()
    assert not st.is_active


def test_a_session_type_is_edited_deactivated_and_offered_again(world, client_for, listed):
    st = session_type(listed, price_minor=9900, brand=world.a.brand)
    client = client_for(world.a.specialist, world.a.brand)
    page = client.get(f"/specialist/session-types/{st.pk}/").content.decode()
    assert 'value="Follow-up"' in page and 'value="99.00"' in page
    response = client.post(
        f"/specialist/session-types/{st.pk}/",
        form_data(name="Follow-up (video)", duration_minutes="45", brand="", price=""),
    )
    assert response.status_code == 302
    st.refresh_from_db()
    assert (st.name, st.duration_minutes, st.brand, st.price_minor) == (
        "Follow-up (video)",
        45,
        None,
        None,
    )
    assert AuditEvent.objects.filter(action="session_type.updated").count() == 1
    # Saving without changes records nothing.
    client.post(
        f"/specialist/session-types/{st.pk}/",
        form_data(name="Follow-up (video)", duration_minutes="45"),
    )
    assert AuditEvent.objects.filter(action="session_type.updated").count() == 1

    assert client.get(f"/specialist/session-types/{st.pk}/deactivate/").status_code == 405
    assert client.post(f"/specialist/session-types/{st.pk}/deactivate/").status_code == 302
    st.refresh_from_db()
    assert not st.is_active
    page = client.get("/specialist/session-types/").content.decode()
    assert "No longer offered" in page and "Offer again" in page
    assert client.post(f"/specialist/session-types/{st.pk}/reactivate/").status_code == 302
    st.refresh_from_db()
    assert st.is_active
    actions_done = AuditEvent.objects.filter(target_id=str(st.pk)).values_list("action", flat=True)
    assert {"session_type.deactivated", "session_type.reactivated"} <= set(actions_done)


# --- scoping --------------------------------------------------------------------------------


def test_another_specialists_objects_answer_404_and_stay_unchanged(
    world, client_for, listed, other
):
    _profile, st, rule, override = other
    client = client_for(world.a.specialist, world.a.brand)
    before = snapshot(_profile)
    assert client.get(f"/specialist/session-types/{st.pk}/").status_code == 404
    assert client.post(f"/specialist/session-types/{st.pk}/", form_data()).status_code == 404
    assert client.post(f"/specialist/session-types/{st.pk}/deactivate/").status_code == 404
    assert client.post(f"/specialist/session-types/{st.pk}/reactivate/").status_code == 404
    assert client.post(f"/specialist/availability/rules/{rule.pk}/remove/").status_code == 404
    assert client.post(f"/specialist/availability/date/{override.pk}/remove/").status_code == 404
    assert snapshot(_profile) == before
    # Their session type cannot be given to one's own hours either.
    response = client.post(
        "/specialist/availability/weekday/0/",
        weekday_data(0, [("09:00", "10:00")], types={0: str(st.pk)}),
    )
    assert response.status_code == 400
    assert not AvailabilityRule.objects.filter(profile=listed).exists()
    # Nothing of theirs shows on one's own pages.
    for path in (
        "/specialist/session-types/",
        "/specialist/availability/",
        "/specialist/calendar/",
    ):
        assert "Theirs" not in client.get(path).content.decode()


def test_a_second_specialist_of_the_same_network_cannot_touch_the_first(world, client_for, listed):
    st = session_type(listed)
    rule = AvailabilityRule.objects.create(
        profile=listed, weekday=1, start_time=time(9), end_time=time(12)
    )
    colleague = factories.make_user("colleague@example.test")
    factories.grant(colleague, "specialist", network=world.a.network)
    do_register_specialist(colleague, world.a.brand)
    client = client_for(colleague, world.a.brand)
    before = snapshot(listed)
    assert client.get(f"/specialist/session-types/{st.pk}/").status_code == 404
    assert client.post(f"/specialist/session-types/{st.pk}/deactivate/").status_code == 404
    assert client.post(f"/specialist/availability/rules/{rule.pk}/remove/").status_code == 404
    assert snapshot(listed) == before


@pytest.mark.parametrize("who", ["patient", "org_admin", "operator", "other_network", "outsider"])
def test_people_without_the_specialist_role_here_change_nothing(world, client_for, listed, who):
    st = session_type(listed)
    rule = AvailabilityRule.objects.create(
        profile=listed, weekday=1, start_time=time(9), end_time=time(12)
    )
    user = {"other_network": world.b.specialist, "outsider": world.outsider}.get(who) or (
        world.a.people[who]
    )
    client = client_for(user, world.a.brand)
    before = snapshot(listed)
    posts = [
        ("/specialist/session-types/new/", form_data()),
        (f"/specialist/session-types/{st.pk}/", form_data(name="Hijacked")),
        (f"/specialist/session-types/{st.pk}/deactivate/", {}),
        ("/specialist/availability/weekday/1/", weekday_data(1, [])),
        (f"/specialist/availability/rules/{rule.pk}/remove/", {}),
        ("/specialist/availability/date/", override_data(future().isoformat())),
    ]
    for path, data in posts:
        assert client.post(path, data).status_code == 403, path
    for path in (
        "/specialist/calendar/",
        "/specialist/availability/",
        "/specialist/session-types/",
    ):
        assert client.get(path).status_code == 403
    assert snapshot(listed) == before


def test_a_specialist_without_a_profile_is_sent_to_the_dashboard(world, client_for):
    client = client_for(world.a.specialist, world.a.brand)
    for path in (
        "/specialist/calendar/",
        "/specialist/availability/",
        "/specialist/session-types/",
    ):
        assert client.get(path)["Location"] == "/specialist/"
    assert client.post("/specialist/session-types/new/", form_data()).status_code == 404
    assert (
        client.post("/specialist/availability/weekday/0/", weekday_data(0, [])).status_code == 404
    )


# --- weekly hours -----------------------------------------------------------------------------


def test_weekly_hours_with_a_break_are_saved_and_copied_to_other_days(world, client_for, listed):
    intake = session_type(listed, name="Intake")
    client = client_for(world.a.specialist, world.a.brand)
    page = client.get("/specialist/availability/").content.decode()
    assert "Europe/Berlin" in page and "Closed" in page
    response = client.post(
        "/specialist/availability/weekday/0/",
        weekday_data(
            0,
            [("13:00", "17:00"), ("09:00", "12:30"), ("", ""), ("20:00", "00:00")],
            also=[2, 4],
            types={2: "", 3: str(intake.pk)},
        ),
    )
    assert response.status_code == 302
    rows = list(
        AvailabilityRule.objects.filter(profile=listed).values_list(
            "weekday", "start_time", "end_time", "session_type"
        )
    )
    for weekday in (0, 2, 4):
        assert (weekday, time(9), time(12, 30), None) in rows
        assert (weekday, time(13), time(17), None) in rows
        assert (weekday, time(20), time(0), intake.pk) in rows
    assert len(rows) == 9
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "availability.weekly_replaced" and event.data["weekdays"] == [0, 2, 4]
    page = client.get("/specialist/availability/").content.decode()
    assert dash("09:00-12:30") in page and dash("20:00-24:00") in page and "only Intake" in page

    # Saving Monday alone with fewer periods replaces Monday only.
    client.post("/specialist/availability/weekday/0/", weekday_data(0, [("10:00", "11:00")]))
    assert list(
        AvailabilityRule.objects.filter(profile=listed, weekday=0).values_list(
            "start_time", "end_time"
        )
    ) == [(time(10), time(11))]
    assert AvailabilityRule.objects.filter(profile=listed, weekday=2).count() == 3


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [("09:00", "12:00"), ("11:00", "13:00")],
            dash("the periods 09:00-12:00 and 11:00-13:00 overlap"),
        ),
        ([("09:00", "00:00"), ("20:00", "21:00")], "overlap"),
        ([("12:00", "09:00")], "must end after it starts"),
        ([("09:00", "")], "needs both a start and an end time"),
        ([("9am", "noon")], "Enter a valid time"),
    ],
)
def test_bad_weekly_hours_write_nothing(world, client_for, listed, rows, message):
    AvailabilityRule.objects.create(
        profile=listed, weekday=3, start_time=time(8), end_time=time(10)
    )
    before = snapshot(listed)
    response = client_for(world.a.specialist, world.a.brand).post(
        "/specialist/availability/weekday/3/", weekday_data(3, rows, also=[5])
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert 'id="weekday-3"' in body and '<details class="week-hours__edit" open>' in body
    assert snapshot(listed) == before


def test_an_overlap_created_by_copying_is_refused_by_the_action(world, listed):
    before = snapshot(listed)
    with pytest.raises(ValidationError) as error:
        actions.do_replace_weekly_rules(
            listed,
            [(1, time(9), time(12), None), (1, time(11, 59), time(13), None)],
            weekdays=[1],
            actor=world.a.specialist,
        )
    assert (
        dash("Tuesday: the periods 09:00-12:00 and 11:59-13:00 overlap") in error.value.messages[0]
    )
    assert snapshot(listed) == before


def test_add_and_remove_single_rules(world, client_for, listed):
    rule = actions.do_add_rule(
        listed, weekday=4, start=time(9), end=time(12), actor=world.a.specialist
    )
    actions.do_add_rule(listed, weekday=4, start=time(12), end=time(13), actor=world.a.specialist)
    before = snapshot(listed)
    with pytest.raises(ValidationError, match="overlap"):
        actions.do_add_rule(
            listed, weekday=4, start=time(8), end=time(9, 30), actor=world.a.specialist
        )
    with pytest.raises(ValidationError):
        actions.do_add_rule(listed, weekday=7, start=time(8), end=time(9), actor=None)
    assert snapshot(listed) == before
    response = client_for(world.a.specialist, world.a.brand).post(
        f"/specialist/availability/rules/{rule.pk}/remove/"
    )
    assert response.status_code == 302
    assert not AvailabilityRule.objects.filter(pk=rule.pk).exists()
    assert AuditEvent.objects.order_by("-seq").first().action == "availability.rule_removed"


def test_an_unknown_weekday_is_404(world, client_for, listed):
    client = client_for(world.a.specialist, world.a.brand)
    assert (
        client.post("/specialist/availability/weekday/7/", weekday_data(7, [])).status_code == 404
    )


# --- date overrides -----------------------------------------------------------------------


def test_a_day_off_and_other_hours_on_a_date(world, client_for, listed):
    AvailabilityRule.objects.create(
        profile=listed, weekday=future().weekday(), start_time=time(9), end_time=time(17)
    )
    client = client_for(world.a.specialist, world.a.brand)
    day = future()
    page = client.get(f"/specialist/availability/date/?day={day.isoformat()}").content.decode()
    assert 'value="09:00"' in page and 'value="17:00"' in page  # the usual hours, to change
    assert "Europe/Berlin" in page

    response = client.post(
        "/specialist/availability/date/", override_data(day.isoformat(), note="Holiday")
    )
    assert response.status_code == 302
    assert response["Location"] == f"/specialist/calendar/?view=day&date={day.isoformat()}"
    override = DateOverride.objects.get(profile=listed, day=day)
    assert (override.windows, override.note) == ([], "Holiday")

    response = client.post(
        "/specialist/availability/date/",
        override_data(day.isoformat(), "hours", [("14:00", "18:00"), ("08:00", "10:00")]),
    )
    assert response.status_code == 302
    override.refresh_from_db()
    assert override.windows == [["08:00", "10:00"], ["14:00", "18:00"]]
    assert override.note == ""
    assert DateOverride.objects.filter(profile=listed).count() == 1

    listing = client.get("/specialist/availability/").content.decode()
    assert dash("08:00-10:00, 14:00-18:00") in listing
    response = client.post(f"/specialist/availability/date/{override.pk}/remove/")
    assert response.status_code == 302
    assert not DateOverride.objects.filter(pk=override.pk).exists()
    assert [
        e.action
        for e in AuditEvent.objects.filter(action__startswith="availability.override").order_by(
            "seq"
        )
    ] == ["availability.override_set"] * 2 + ["availability.override_cleared"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            lambda d: override_data(d, "hours", [("09:00", "12:00"), ("11:00", "13:00")]),
            "overlap",
        ),
        (lambda d: override_data(d, "hours", [("", "")]), "Add at least one period"),
        (lambda d: override_data(d, "hours", [("18:00", "08:00")]), "must end after it starts"),
        (lambda d: override_data("2020-01-01"), "This date has passed."),
        (lambda d: override_data("tomorrow"), "Enter a valid date"),
        (lambda d: override_data(d, "maybe"), "Select a valid choice"),
        (lambda d: override_data(d, note="x" * 121), "at most 120 characters"),
    ],
)
def test_bad_date_overrides_write_nothing(world, client_for, listed, data, message):
    DateOverride.objects.create(profile=listed, day=future(), windows=[["10:00", "11:00"]])
    before = snapshot(listed)
    response = client_for(world.a.specialist, world.a.brand).post(
        "/specialist/availability/date/", data(future().isoformat())
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot(listed) == before


# --- the calendar grid (pure) -------------------------------------------------------------

NINE_TO_NOON = [cg.WeeklyHours(d, time(9), time(12)) for d in range(7)]


def _grid(view, anchor, zone="Europe/Berlin", bookings=(), overrides=(), weekly=NINE_TO_NOON):  # type: ignore[no-untyped-def]
    return cg.build(
        view=view,
        anchor=anchor,
        zone=zone,
        today=date(2026, 11, 21),
        weekly=weekly,
        overrides=overrides,
        bookings=[cg.BookingIn(s, s + timedelta(minutes=50), name) for s, name in bookings],
    )


def _local_bookings(grid):  # type: ignore[no-untyped-def]
    return {
        (day.date.isoformat(), b.start_label, b.item) for day in grid.days for b in day.bookings
    }


@pytest.mark.parametrize(
    ("monday", "change_day", "change", "utc_before", "utc_after"),
    [
        # Berlin: summer time begins on the last Sunday of March, ends on the last of October.
        (date(2026, 3, 23), date(2026, 3, 29), 60, 8, 7),
        (date(2026, 10, 19), date(2026, 10, 25), -60, 7, 8),
    ],
)
def test_berlin_weeks_with_a_clock_change_keep_nine_oclock(
    monday, change_day, change, utc_before, utc_after
):
    saturday = change_day - timedelta(days=1)
    bookings = [
        (datetime.combine(saturday, time(utc_before), UTC), "before"),
        (datetime.combine(change_day, time(utc_after), UTC), "after"),
    ]
    grid = _grid("week", monday + timedelta(days=3), bookings=bookings)
    assert [d.date for d in grid.days] == [monday + timedelta(days=i) for i in range(7)]
    assert all(d.hours_text == dash("09:00-12:00") for d in grid.days)
    assert [d.clock_change for d in grid.days] == [0] * 6 + [change]
    assert _local_bookings(grid) == {
        (saturday.isoformat(), "09:00", "before"),
        (change_day.isoformat(), "09:00", "after"),
    }
    # Each booking sits inside its day's 09:00 window.
    for day in grid.days[5:]:
        assert day.windows[0].bookings == day.bookings and not day.outside


def test_a_southern_hemisphere_week_with_a_clock_change():
    # Sydney: daylight saving begins on the first Sunday of October (02:00 -> 03:00).
    bookings = [
        (datetime(2026, 10, 2, 23, tzinfo=UTC), "saturday"),  # Sat 3 Oct 09:00 AEST (+10)
        (datetime(2026, 10, 3, 22, tzinfo=UTC), "sunday"),  # Sun 4 Oct 09:00 AEDT (+11)
        (datetime(2026, 10, 4, 13, 30, tzinfo=UTC), "late"),  # Mon 5 Oct 00:30 local
    ]
    grid = _grid("week", date(2026, 10, 1), zone="Australia/Sydney", bookings=bookings)
    assert grid.first == date(2026, 9, 28) and grid.last == date(2026, 10, 4)
    assert [d.clock_change for d in grid.days] == [0] * 6 + [60]
    assert _local_bookings(grid) == {
        ("2026-10-03", "09:00", "saturday"),
        ("2026-10-04", "09:00", "sunday"),
    }
    # ... and it ends on the first Sunday of April.
    april = _grid("week", date(2026, 4, 5), zone="Australia/Sydney")
    assert [d.clock_change for d in april.days][-1] == -60
    assert (
        _grid("day", date(2026, 10, 5), zone="Australia/Sydney", bookings=bookings)
        .days[0]
        .outside[0]
        .item
        == "late"
    )  # 00:30 is outside the 09:00-12:00 hours


def test_overrides_replace_the_weekly_hours_and_days_off_show():
    overrides = [
        cg.DateHours(date(2026, 11, 24), (), "Holiday", 1),
        cg.DateHours(date(2026, 11, 25), ((time(14), time(18)), (time(8), time(10))), "", 2),
    ]
    grid = _grid("week", date(2026, 11, 23), overrides=overrides)
    monday, tuesday, wednesday = grid.days[:3]
    assert monday.hours_text == dash("09:00-12:00") and not monday.changed
    assert tuesday.day_off and tuesday.windows == [] and tuesday.override.note == "Holiday"
    assert wednesday.hours_text == dash("08:00-10:00, 14:00-18:00") and not wednesday.day_off
    assert monday.today is False and grid.days[0].past is False


def test_reserved_periods_are_labelled_and_bookings_outside_hours_are_kept():
    weekly = [
        cg.WeeklyHours(0, time(13), time(0), "Intake"),
        cg.WeeklyHours(0, time(9), time(12)),
    ]
    bookings = [
        (datetime(2026, 11, 23, 7, 30, tzinfo=UTC), "early"),  # 08:30 Berlin: before the hours
        (datetime(2026, 11, 23, 22, tzinfo=UTC), "evening"),  # 23:00 Berlin: inside 13-24
    ]
    day = _grid("day", date(2026, 11, 23), weekly=weekly, bookings=bookings).days[0]
    assert [(w.text, w.label) for w in day.windows] == [
        (dash("09:00-12:00"), ""),
        (dash("13:00-24:00"), "Intake"),
    ]
    assert [b.item for b in day.outside] == ["early"]
    assert [b.item for b in day.windows[1].bookings] == ["evening"]
    assert [b.kind for b in day.blocks] == ["booking", "window", "window"]


def test_periods_and_navigation_of_each_view():
    day = _grid("day", date(2026, 11, 23))
    assert (day.first, day.last, day.previous, day.following) == (
        date(2026, 11, 23),
        date(2026, 11, 23),
        date(2026, 11, 22),
        date(2026, 11, 24),
    )
    week = _grid("week", date(2026, 11, 26))
    assert (week.first, week.last, week.previous, week.following) == (
        date(2026, 11, 23),
        date(2026, 11, 29),
        date(2026, 11, 19),
        date(2026, 12, 3),
    )
    month = _grid("month", date(2026, 11, 21))
    assert (month.first, month.last) == (date(2026, 10, 26), date(2026, 12, 6))
    assert (month.previous, month.following) == (date(2026, 10, 1), date(2026, 12, 1))
    assert len(month.weeks) == 6 and all(len(w) == 7 for w in month.weeks)
    assert [d.in_period for d in month.days].count(True) == 30
    assert [d.date for d in month.days if d.today] == [date(2026, 11, 21)]
    assert all(d.past for d in month.days if d.date < date(2026, 11, 21))
    assert cg.parse_view("year") == "week" and cg.parse_view(None) == "week"
    assert cg.parse_date("2026-02-30", date(2026, 1, 1)) == date(2026, 1, 1)
    assert cg.parse_date("2026-02-03", date(2026, 1, 1)) == date(2026, 2, 3)
    # January: the previous month is December of the year before.
    assert _grid("month", date(2027, 1, 31)).previous == date(2026, 12, 1)


# --- the calendar page --------------------------------------------------------------------


def test_the_week_view_shows_hours_and_bookings_at_local_time(world, client_for, listed):
    st = session_type(listed, name="Follow-up")
    AvailabilityRule.objects.bulk_create(
        [
            AvailabilityRule(profile=listed, weekday=d, start_time=time(9), end_time=time(12))
            for d in range(7)
        ]
    )
    booking(world, st, datetime(2026, 3, 28, 8, tzinfo=UTC))  # Saturday 09:00 CET
    booking(world, st, datetime(2026, 3, 29, 7, tzinfo=UTC), brand=listed.listings.last().brand)
    booking(world, st, datetime(2026, 3, 26, 9, tzinfo=UTC), status="cancelled_by_patient")
    client = client_for(world.a.specialist, world.a.brand)
    response = client.get("/specialist/calendar/?view=week&date=2026-03-25")
    assert response.status_code == 200
    body = response.content.decode()
    assert dash("23-29 March 2026") in body
    assert "Europe/Berlin" in body
    assert body.count(dash("09:00-12:00")) == 7
    assert body.count(dash(">09:00-09:50</time>")) == 2  # both sides of the change
    assert dash(">10:00-10:50</time>") in body  # the cancelled one, 10:00 CET
    assert "Clocks go forward one hour." in body
    assert "Patient a" in body and "Follow-up" in body
    assert "Brand A" in body and "Fixed A" in body
    assert "Confirmed" in body and "Cancelled by the patient" in body
    assert "?view=week&amp;date=2026-03-18" in body and "?view=week&amp;date=2026-04-01" in body
    assert 'aria-current="page">Week' in body
    assert "/specialist/availability/date/?day=2026-03-23" not in body  # the past: no changes


def test_day_and_month_views(world, client_for, listed):
    st = session_type(listed, name="Intake")
    day = future(3)
    AvailabilityRule.objects.create(
        profile=listed, weekday=day.weekday(), start_time=time(9), end_time=time(17)
    )
    start = datetime.combine(day, time(10), BERLIN)
    booking(world, st, start)
    client = client_for(world.a.specialist, world.a.brand)
    body = client.get(f"/specialist/calendar/?view=day&date={day.isoformat()}").content.decode()
    assert dash("09:00-17:00") in body and dash("10:00-10:50") in body and "Intake" in body
    assert f"/specialist/availability/date/?day={day.isoformat()}" in body
    assert "Brand A" in body
    month = client.get(f"/specialist/calendar/?view=month&date={day.isoformat()}")
    assert month.status_code == 200
    body = month.content.decode()
    assert '<table class="cal-month"' in body and 'scope="col"' in body
    assert "10:00</time> Patient a" in body
    # Nonsense parameters fall back to this week.
    assert client.get("/specialist/calendar/?view=year&date=soon").status_code == 200


def test_a_day_off_from_the_calendar_shows_in_the_calendar(world, client_for, listed):
    day = future(5)
    AvailabilityRule.objects.create(
        profile=listed, weekday=day.weekday(), start_time=time(9), end_time=time(17)
    )
    client = client_for(world.a.specialist, world.a.brand)
    week = client.get(f"/specialist/calendar/?view=week&date={day.isoformat()}").content.decode()
    assert f"/specialist/availability/date/?day={day.isoformat()}" in week
    client.post("/specialist/availability/date/", override_data(day.isoformat(), note="Dentist"))
    body = client.get(f"/specialist/calendar/?view=day&date={day.isoformat()}").content.decode()
    assert "Day off" in body and "Dentist" in body and dash("09:00-17:00") not in body


def test_the_calendar_names_a_missing_time_zone(world, client_for):
    profile = do_register_specialist(world.a.specialist, world.a.brand)
    profile.time_zone = ""
    profile.save(update_fields=["time_zone"])
    body = client_for(world.a.specialist, world.a.brand).get("/specialist/calendar/").content
    assert "Your profile has no time zone yet" in body.decode()
    assert "<strong>UTC</strong>" in body.decode()


def test_notice_is_shown_in_hours_the_number_input_accepts(world, client_for, listed):
    client = client_for(world.a.specialist, world.a.brand)
    for minutes, shown in [(600, 'value="10"'), (90, 'value="1.5"'), (0, 'value="0"')]:
        st = session_type(listed, name=f"Notice {minutes}", min_notice_minutes=minutes)
        assert shown in client.get(f"/specialist/session-types/{st.pk}/").content.decode()


def test_a_past_date_offers_no_form(world, client_for, listed):
    body = (
        client_for(world.a.specialist, world.a.brand)
        .get("/specialist/availability/date/?day=2020-01-06")
        .content.decode()
    )
    assert "This date has passed" in body
    assert 'name="kind"' not in body
