"""Every role against every portal, on its own brand, a sister brand and another network.

A portal answers 200 to the roles the policy gives it, the 403 "no access" page to every
other signed-in person, and a sign-in redirect to visitors. A forbidden POST changes nothing.
"""

from __future__ import annotations

import pytest

from caredoor.core.accounts.policy import PORTAL_ROLES, Portal
from caredoor.core.compliance.models import AuditEvent
from tests.conftest import ROLES

PORTAL_PAGES = {
    Portal.PATIENT: "/account/",
    Portal.SPECIALIST: "/specialist/",
    Portal.ORGANIZATION: "/org/",
    Portal.AFFILIATE: "/partners/",
}
ACCOUNT_PAGES = {
    Portal.PATIENT: "/account/",
    Portal.SPECIALIST: "/specialist/account/",
    Portal.ORGANIZATION: "/org/account/",
    Portal.AFFILIATE: "/partners/account/",
}

# On the sister brand of the same network, roles scoped to the network or the operator
# carry over; roles scoped to brand A or to a clinic bound only to brand A do not.
CARRIES_TO_SISTER = {"specialist", "operator"}


@pytest.mark.parametrize("portal", list(PORTAL_PAGES))
@pytest.mark.parametrize("role", ROLES)
def test_own_brand(world, client_for, role, portal):
    response = client_for(world.a.people[role], world.a.brand).get(PORTAL_PAGES[portal])
    expected = 200 if role in PORTAL_ROLES[portal] else 403
    assert response.status_code == expected
    if expected == 200:
        assert "Brand A" in response.content.decode()
    else:
        assert "No access here" in response.content.decode()


@pytest.mark.parametrize("portal", list(PORTAL_PAGES))
@pytest.mark.parametrize("role", ROLES)
def test_sister_brand_of_same_network(world, client_for, role, portal):
    response = client_for(world.a.people[role], world.a.sister).get(PORTAL_PAGES[portal])
    allowed = role in PORTAL_ROLES[portal] and role in CARRIES_TO_SISTER
    assert response.status_code == (200 if allowed else 403)


@pytest.mark.parametrize("portal", list(PORTAL_PAGES))
@pytest.mark.parametrize("role", ROLES)
def test_other_networks_people_are_refused_everywhere(world, client_for, role, portal):
    response = client_for(world.b.people[role], world.a.brand).get(PORTAL_PAGES[portal])
    assert response.status_code == 403
    assert "Brand B" not in response.content.decode()


@pytest.mark.parametrize("portal", list(PORTAL_PAGES))
def test_outsider_is_refused(world, client_for, portal):
    response = client_for(world.outsider, world.a.brand).get(PORTAL_PAGES[portal])
    assert response.status_code == 403


@pytest.mark.parametrize("portal", list(PORTAL_PAGES))
def test_visitor_is_sent_to_sign_in(world, client_for, portal):
    response = client_for(None, world.a.brand).get(PORTAL_PAGES[portal])
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


FORBIDDEN = [
    (role, portal)
    for portal in ACCOUNT_PAGES
    for role in [*ROLES, "other_network", "outsider"]
    if role not in PORTAL_ROLES[portal]
]


@pytest.mark.parametrize(("role", "portal"), FORBIDDEN)
def test_forbidden_post_changes_nothing(world, client_for, role, portal):
    user = {"other_network": world.b.patient, "outsider": world.outsider}.get(role) or (
        world.a.people[role]
    )
    events = AuditEvent.objects.count()
    response = client_for(user, world.a.brand).post(
        ACCOUNT_PAGES[portal], {"name": "Changed By Attack", "language": "de"}
    )
    assert response.status_code == 403
    user.refresh_from_db()
    assert user.name != "Changed By Attack"
    assert user.language == ""
    assert AuditEvent.objects.count() == events


def test_unknown_host_is_a_plain_404_with_no_brand_data(world, client):
    for path in ["/", "/specialist/", "/org/", "/partners/", "/accounts/login/", "/api/v1/brand"]:
        response = client.get(path, HTTP_HOST="unknown.example")
        assert response.status_code == 404
        body = response.content.decode()
        assert "Brand A" not in body and "Brand B" not in body
        assert "brand-primary" not in body


def test_platform_host_serves_only_the_operator_console(world, client_for):
    operator = client_for(world.a.operator, None, host="localhost")
    assert operator.get("/org/").status_code == 200
    assert operator.get("/").status_code == 302  # the front door leads to the console
    for path in ["/specialist/", "/partners/", "/account/"]:
        assert operator.get(path).status_code == 404
    clinic_admin = client_for(world.a.org_admin, None, host="localhost")
    assert clinic_admin.get("/org/").status_code == 403


def test_admin_is_for_superusers_only(world, client_for):
    assert client_for(world.a.operator, world.a.brand).get("/admin/").status_code == 302
    world.a.operator.is_staff = True
    world.a.operator.save()
    assert client_for(world.a.operator, world.a.brand).get("/admin/").status_code == 302
    world.a.operator.is_superuser = True
    world.a.operator.save()
    assert client_for(world.a.operator, world.a.brand).get("/admin/").status_code == 200


def test_mfa_is_required_for_organization_roles(world, client_for):
    world.a.org_admin.authenticator_set.all().delete()
    response = client_for(world.a.org_admin, world.a.brand).get("/org/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"
    # A patient needs no second factor.
    assert client_for(world.a.patient, world.a.brand).get("/account/").status_code == 200


def test_people_with_mfa_roles_cannot_remove_their_second_factor(world):
    from allauth.mfa.adapter import get_adapter

    adapter = get_adapter()
    assert not adapter.can_delete_authenticator(world.a.operator.authenticator_set.get())
    patient_totp = world.a.patient.authenticator_set.create(type="totp", data={})
    assert adapter.can_delete_authenticator(patient_totp)


def test_acting_membership_switch_is_validated(world, client_for):
    from tests import factories

    factories.grant(
        world.a.org_admin, "finance", network=world.a.network, organization=world.a.clinic
    )
    client = client_for(world.a.org_admin, world.a.brand)
    memberships = {m.role: m.pk for m in world.a.org_admin.memberships.all()}
    assert "Organization admin" in client.get("/org/").content.decode()
    response = client.post(
        "/accounts/acting/", {"portal": "organization", "membership": memberships["finance"]}
    )
    assert response.status_code == 302
    assert "Acting as" in client.get("/org/").content.decode()
    # Someone else's membership id is refused.
    foreign = world.b.operator.memberships.get().pk
    assert (
        client.post(
            "/accounts/acting/", {"portal": "organization", "membership": foreign}
        ).status_code
        == 404
    )


def _nav_pages():

    from caredoor.ui.nav import NAV

    for portal, entries in NAV.items():
        for entry in entries:
            _label, name, capability = entry[:3]
            yield portal, name, capability


NAV_PAGES = list(_nav_pages())
# The brand's front door and its public directory are open to everyone on a public brand.
PUBLIC_PAGES = {"patient:dashboard", "patient:specialists"}


@pytest.mark.parametrize(
    ("portal", "url_name", "capability"), NAV_PAGES, ids=[n for _p, n, _c in NAV_PAGES]
)
@pytest.mark.parametrize("role", ROLES)
def test_every_navigation_page_follows_the_policy(
    world, client_for, role, portal, url_name, capability
):
    """Each page in a portal's navigation: the portal's roles with the capability get it,
    the portal's roles without it get 404, everyone else the portal's 403."""
    from django.urls import reverse

    from caredoor.core.accounts.policy import role_can
    from caredoor.ui.nav import NAV_FOR

    if world.a.people[role].memberships.filter(role="specialist").exists():
        from caredoor.core.specialists.actions import do_register_specialist

        do_register_specialist(world.a.people[role], world.a.brand)
    response = client_for(world.a.people[role], world.a.brand).get(reverse(url_name))
    if url_name in PUBLIC_PAGES:
        expected = 200
    elif role not in PORTAL_ROLES[portal]:
        expected = 403
    elif capability and not role_can(role, capability):
        expected = 404
    elif url_name in NAV_FOR and not NAV_FOR[url_name](world.a.people[role].memberships.get()):
        expected = 404  # e.g. money: the operator organization's only, not the clinic's
    else:
        expected = 200
    assert response.status_code == expected, (role, url_name)
