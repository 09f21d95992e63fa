import pytest
from django.apps import apps
from django.core.management import call_command

from caredoor.core.accounts.models import Membership
from caredoor.core.brands.queries import brand_for_host
from caredoor.core.compliance.audit import verify_chain
from caredoor.demo import data


def _counts() -> dict[str, int]:
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label
        in {
            "brands",
            "organizations",
            "accounts",
            "compliance",
            "mfa",
            "scheduling",
            "booking",
            "messaging",
            "notifications",
        }
    }


@pytest.mark.django_db
def test_seed_builds_the_demo_network_and_running_it_again_changes_nothing(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = _counts()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _counts() == first
    for spec in data.BRANDS:
        for host in spec["hosts"]:
            assert brand_for_host(host).slug == spec["slug"]
    assert brand_for_host("northwind.localhost").is_private
    for email, _name, role, _scope in data.PEOPLE:
        assert Membership.objects.active().filter(user__email=email, role=role).count() == 1
    assert verify_chain().ok


@pytest.mark.django_db
def test_every_demo_person_reaches_their_portal(tmp_path, settings, client):
    from caredoor.core.accounts.policy import PORTAL_PATHS, portal_of_role

    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    homes = {
        "harbor": "harbor.localhost",
        "steadypath": "steadypath.localhost",
        "northwind": "northwind.localhost",
        "lindenhof-clinic": "harbor.localhost",
        "northwind-logistics": "northwind.localhost",
        "demo-operator": "harbor.localhost",
        None: "steadypath.localhost",
    }
    from caredoor.core.accounts.models import User

    for email, _name, role, scope in data.PEOPLE:
        client.force_login(User.objects.get(email=email))
        path = PORTAL_PATHS[portal_of_role(role)]
        response = client.get(path if path != "/" else "/account/", HTTP_HOST=homes[scope])
        assert response.status_code == 200, (email, path)
        client.logout()


@pytest.mark.django_db
def test_demo_specialists_in_every_state_and_listed_per_brand(tmp_path, settings):
    from caredoor.core.specialists.models import SpecialistProfile
    from caredoor.core.specialists.pricing import listing_price
    from caredoor.core.specialists.queries import public_profiles_on

    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    states = set(SpecialistProfile.objects.values_list("status", flat=True))
    assert states == {"draft", "submitted", "changes_requested", "approved", "rejected"}
    visible = {}
    for slug in ["harbor", "steadypath", "northwind"]:
        brand = brand_for_host(f"{slug}.localhost")
        visible[slug] = {
            p.data["display_name"]: listing_price(p.profile.listings.get(brand=brand)).display
            for p in public_profiles_on(brand)
        }
    assert visible == {
        "harbor": {"Dr. Mara Klein": "95.00 EUR", "Jonas Berg": "80.00 EUR"},
        "steadypath": {"Dr. Mara Klein": "65.00 GBP", "Sam Okafor": "65.00 GBP"},
        "northwind": {
            "Jonas Berg": "Covered by your program",
            "Sam Okafor": "Covered by your program",
        },
    }


@pytest.mark.django_db
def test_the_demo_has_hours_and_open_bookings_through_the_actions(tmp_path, settings):
    from caredoor.core.booking.models import AvailabilityRequest, Booking, BookingStatus
    from caredoor.core.scheduling.models import SessionType

    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    mara = "mara.klein@caredoor.test"
    assert SessionType.objects.filter(profile__user__email=mara).count() == 3
    statuses = sorted(
        Booking.objects.filter(patient__email="ana.patient@caredoor.test").values_list(
            "status", flat=True
        )
    )
    # A confirmed session, an open proposal, a past one waiting for her feedback, and the
    # video session she can join now (seed_video).
    assert statuses == sorted(
        [
            BookingStatus.CONFIRMED,
            BookingStatus.CONFIRMED,
            BookingStatus.PROPOSED,
            BookingStatus.COMPLETED,
        ]
    )
    assert AvailabilityRequest.objects.filter(status="requested").count() == 1
    assert verify_chain().ok


@pytest.mark.django_db
def test_demo_conversation_leaves_ana_one_unread_message(tmp_path, settings):
    from caredoor.core.accounts.models import User
    from caredoor.core.brands.models import Brand
    from caredoor.core.messaging.queries import unread_total

    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    ana = User.objects.get(email="ana.patient@caredoor.test")
    mara = User.objects.get(email="mara.klein@caredoor.test")
    harbor = Brand.objects.get(slug="harbor")
    assert unread_total(ana, harbor, "patient") == 1
    assert unread_total(mara, harbor, "specialist") == 1  # the operator's welcome


@pytest.mark.django_db
def test_the_demo_has_a_video_session_to_join_now_and_keeps_it(tmp_path, settings):
    from django.utils import timezone

    from caredoor.core.booking.join import is_joinable
    from caredoor.core.booking.models import Booking
    from caredoor.core.video.rules import booking_for, check_join

    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    now = timezone.now()
    joinable = [
        b
        for b in Booking.objects.filter(patient__email="ana.patient@caredoor.test")
        if is_joinable(b, now)
    ]
    assert len(joinable) == 1
    booking = joinable[0]
    assert booking.brand.slug == "harbor"
    assert booking.profile.user.email == "mara.klein@caredoor.test"
    # Both may enter now: Ana has signed what the session needs.
    check_join(booking_for(booking.patient, booking.brand, "patient", booking.pk), now)
    check_join(booking_for(booking.profile.user, booking.brand, "specialist", booking.pk), now)
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Booking.objects.filter(patient__email="ana.patient@caredoor.test").count() == 4
