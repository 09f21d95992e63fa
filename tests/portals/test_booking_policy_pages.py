"""Booking rules: a brand's rules in the operator console (with reminders), a specialist's
overrides per site in the specialist portal; empty fields inherit, bad input writes
nothing, and nobody else reaches either page."""

from __future__ import annotations

from typing import Any

import pytest

from caredoor.core.booking import policy
from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import BookingPolicy
from caredoor.core.booking.policy_actions import do_save_brand_policy
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.specialists.actions import do_register_specialist
from caredoor.portals.common.booking_policy_forms import parse_reminders
from tests import factories
from tests.booking_helpers import listed_with_hours, local, make_type

RULES = "/specialist/bookings/rules/"


def org_url(brand) -> str:  # type: ignore[no-untyped-def]
    return f"/org/brands/{brand.pk}/booking-rules/"


def rows() -> list[tuple]:
    return list(
        BookingPolicy.objects.order_by("pk").values_list(
            "brand_id",
            "profile_id",
            "self_booking",
            "cancel_notice_hours",
            "late_cancel_fee_percent",
            "proposals_require_payment",
            "reminder_offsets_minutes",
        )
    )


def state() -> tuple:
    return rows(), AuditEvent.objects.count()


def blank(prefix: str = "", **values: Any) -> dict[str, Any]:
    names = [
        "self_booking",
        "cancel_notice_hours",
        "reschedule_notice_hours",
        "late_cancel_fee_percent",
        "no_show_fee_percent",
        "proposal_expiry_hours",
        "proposals_require_payment",
        "request_response_hours",
    ]
    data = {name: "" for name in names}
    data.update(values)
    return {f"{prefix}{k}": v for k, v in data.items()}


@pytest.fixture
def listed(world):  # type: ignore[no-untyped-def]
    return listed_with_hours(world.a, [world.a.brand, world.a.sister])[0]


@pytest.fixture
def spec(world, client_for):  # type: ignore[no-untyped-def]
    return client_for(world.a.specialist, world.a.brand)


# --- the specialist's overrides ---------------------------------------------------------------


def test_overrides_inherit_the_brands_rules(world, spec, listed):
    do_save_brand_policy(
        world.a.brand,
        {"cancel_notice_hours": 12, "late_cancel_fee_percent": 30},
        actor=world.a.operator,
        role="operator",
    )
    page = spec.get(RULES).content.decode()
    assert "Brand A" in page and "Sister A" in page
    # The brand's value is the placeholder; the sister brand shows the defaults.
    cards = page.split('<section class="card" id="site-')
    part_a = next(c for c in cards if c.startswith(f'{world.a.brand.pk}"'))
    assert 'placeholder="12"' in part_a and 'placeholder="30"' in part_a
    assert "As Brand A says: Patients book from the free times" in part_a
    part_sister = next(c for c in cards if c.startswith(f'{world.a.sister.pk}"'))
    assert 'placeholder="24"' in part_sister

    prefix = f"brand-{world.a.brand.pk}-"
    response = spec.post(
        f"{RULES}{world.a.brand.pk}/",
        blank(
            prefix,
            self_booking="first_only",
            cancel_notice_hours="6",
            proposals_require_payment="yes",
        ),
    )
    assert response.status_code == 302
    effective = policy.effective(world.a.brand, listed)
    assert effective["cancel_notice_hours"] == 6  # own
    assert effective["late_cancel_fee_percent"] == 30  # the brand's
    assert effective["no_show_fee_percent"] == 100  # the default, through the brand
    assert effective["self_booking"] == "first_only"
    assert effective["proposals_require_payment"] is True
    assert policy.effective(world.a.sister, listed)["cancel_notice_hours"] == 24
    page = spec.get(RULES).content.decode()
    assert "3 rules of your own" in page
    assert 'value="6"' in page

    # A booking made now keeps these rules.
    session_type = make_type(listed)
    booking = do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=session_type, start=local(10)
    )
    assert booking.policy["cancel_notice_hours"] == 6
    assert booking.policy["late_cancel_fee_percent"] == 30

    # Emptying a field inherits again; a later brand change then applies.
    spec.post(
        f"{RULES}{world.a.brand.pk}/",
        blank(prefix, self_booking="first_only", proposals_require_payment="yes"),
    )
    assert policy.effective(world.a.brand, listed)["cancel_notice_hours"] == 12
    do_save_brand_policy(
        world.a.brand, {"cancel_notice_hours": 48}, actor=world.a.operator, role="operator"
    )
    assert policy.effective(world.a.brand, listed)["cancel_notice_hours"] == 48


def test_override_refusals_write_nothing(world, spec, listed):
    url = f"{RULES}{world.a.brand.pk}/"
    prefix = f"brand-{world.a.brand.pk}-"
    spec.post(url, blank(prefix, self_booking="off"))
    before = state()
    for bad, message in [
        ({"late_cancel_fee_percent": "101"}, "less than or equal to 100"),
        ({"cancel_notice_hours": "lots"}, "Enter a whole number"),
        ({"cancel_notice_hours": "-1"}, "greater than or equal to 0"),
        ({"proposal_expiry_hours": "0"}, "greater than or equal to 1"),
        ({"request_response_hours": "9999"}, "less than or equal to 336"),
        ({"self_booking": "always"}, "Select a valid choice"),
        ({"proposals_require_payment": "maybe"}, "Select a valid choice"),
    ]:
        response = spec.post(url, blank(prefix, **{"self_booking": "off", **bad}))
        assert response.status_code == 400, bad
        assert message in response.content.decode(), bad
        assert "Nothing was saved" in response.content.decode()
    assert state() == before
    # Going back from a stored direct-booking mode to the site's works.
    response = spec.post(url, blank(prefix))
    assert response.status_code == 302
    assert policy.effective(world.a.brand, listed)["self_booking"] == "open"


def test_only_listed_sites_and_only_ones_own_rules(world, client_for, spec, listed):
    b_profile = do_register_specialist(world.b.specialist, world.b.brand)
    assert b_profile
    unlisted = factories.make_brand(world.a.network, "third-a.test", name="Third A")
    before = state()
    # A site of another network, and a brand of this network the specialist is not on.
    for brand in (world.b.brand, unlisted):
        response = spec.post(f"{RULES}{brand.pk}/", blank(f"brand-{brand.pk}-"))
        assert response.status_code == 404
    # Other people.
    data = blank(f"brand-{world.a.brand.pk}-", cancel_notice_hours="1")
    assert (
        client_for(world.b.specialist, world.b.brand)
        .post(f"{RULES}{world.a.brand.pk}/", data)
        .status_code
        == 404
    )
    for user in (world.a.patient, world.a.operator, world.a.org_staff, world.b.specialist):
        response = client_for(user, world.a.brand).post(f"{RULES}{world.a.brand.pk}/", data)
        assert response.status_code == 403
    assert state() == before
    # The other network's specialist sees their own sites only.
    page = client_for(world.b.specialist, world.b.brand).get(RULES).content.decode()
    assert "Brand A" not in page


# --- the brand's rules ------------------------------------------------------------------------


def test_the_brand_page_links_to_its_booking_rules(world, client_for):
    page = client_for(world.a.operator, world.a.brand).get(f"/org/brands/{world.a.brand.pk}/")
    assert org_url(world.a.brand) in page.content.decode()


def test_an_operator_saves_the_brands_rules_with_reminders(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    page = client.get(org_url(world.a.brand)).content.decode()
    assert 'placeholder="24h, 1h"' in page  # the default reminders
    assert 'placeholder="50"' in page and "Caredoor&#x27;s default" in page

    response = client.post(
        org_url(world.a.brand),
        blank(
            cancel_notice_hours="12",
            no_show_fee_percent="80",
            self_booking="off",
            proposals_require_payment="no",
            reminders="24h, 30 min, 2 hours",
        ),
    )
    assert response.status_code == 302
    row = BookingPolicy.objects.get(brand=world.a.brand, profile__isnull=True)
    assert row.reminder_offsets_minutes == [1440, 120, 30]
    effective = policy.brand_policy(world.a.brand)
    assert effective["cancel_notice_hours"] == 12
    assert effective["no_show_fee_percent"] == 80
    assert effective["late_cancel_fee_percent"] == 50  # default
    assert effective["self_booking"] == "off"
    assert effective["proposals_require_payment"] is False
    event = AuditEvent.objects.filter(action="booking_policy.saved").latest("pk")
    assert event.actor == world.a.operator
    page = client.get(org_url(world.a.brand)).content.decode()
    assert 'value="24h, 2h, 30min"' in page

    # "none": no reminders; empty: the default again.
    client.post(org_url(world.a.brand), blank(self_booking="off", reminders="none"))
    assert policy.brand_policy(world.a.brand)["reminder_offsets_minutes"] == []
    client.post(org_url(world.a.brand), blank(self_booking="off", reminders=""))
    assert policy.brand_policy(world.a.brand)["reminder_offsets_minutes"] == [1440, 60]
    assert policy.brand_policy(world.a.brand)["cancel_notice_hours"] == 24


def test_brand_rule_refusals_write_nothing(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    before = state()
    for reminders, message in [
        ("24x", "is not a time before the session"),
        ("soon", "is not a time before the session"),
        ("8d", "between 5 minutes and 7 days"),
        ("2 min", "between 5 minutes and 7 days"),
        ("1h, 60min", "given twice"),
        ("1d, 2h, 1h, 30min, 10min", "At most 4 reminders"),
    ]:
        response = client.post(org_url(world.a.brand), blank(reminders=reminders))
        assert response.status_code == 400, reminders
        body = response.content.decode()
        assert message in body, reminders
        assert "Nothing was saved" in body
    response = client.post(org_url(world.a.brand), blank(late_cancel_fee_percent="150"))
    assert response.status_code == 400
    assert state() == before


def test_reminders_are_parsed_generously_and_refused_clearly():
    assert parse_reminders("") is None
    assert parse_reminders(" 24h ,1h ") == [1440, 60]
    assert parse_reminders("2 days; 90 minutes") == [2880, 90]
    assert parse_reminders("NONE") == []
    with pytest.raises(Exception) as caught:
        parse_reminders("24")
    assert "d, h or min" in str(caught.value)


@pytest.mark.parametrize(
    ("role", "expected"),
    [("org_admin", 404), ("org_staff", 404), ("finance", 404), ("patient", 403)],
)
def test_nobody_without_the_capability_reaches_the_brands_rules(world, client_for, role, expected):
    client = client_for(world.a.people[role], world.a.brand)
    before = state()
    assert client.get(org_url(world.a.brand)).status_code == expected
    response = client.post(org_url(world.a.brand), blank(cancel_notice_hours="1"))
    assert response.status_code == expected
    assert state() == before


def test_another_networks_operator_cannot_reach_the_brands_rules(world, client_for):
    before = state()
    client = client_for(world.b.operator, world.b.brand)
    assert client.get(org_url(world.a.brand)).status_code == 404
    response = client.post(org_url(world.a.brand), blank(cancel_notice_hours="1"))
    assert response.status_code == 404
    assert client_for(world.b.operator, world.a.brand).get(org_url(world.a.brand)).status_code in (
        403,
        404,
    )
    assert state() == before
