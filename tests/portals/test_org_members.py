"""The operator console: people with roles, invitations and revoking roles."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from caredoor.core.accounts.models import Invitation, Membership, User
from caredoor.core.compliance.models import AuditEvent

DENIED = {403, 404}


def errors_of(response, field: str) -> str:
    body = response.content.decode()
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', body, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def invite(django_capture_on_commit_callbacks):
    """POST the invitation form; emails scheduled on commit are sent (into mail.outbox)."""

    def post(client, **data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/org/members/invite/", data)

    return post


def link_in(message) -> str:
    match = re.search(r"http://[^\s]+/accounts/invitation/[^\s/]+/", message.body)
    assert match, message.body
    return match.group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


# --- seeing ---------------------------------------------------------------------------------


def test_operator_sees_the_networks_people_and_not_another_networks(world, client_for):
    response = client_for(world.a.operator, world.a.brand).get("/org/members/")
    assert response.status_code == 200
    body = response.content.decode()
    for role in ["patient", "specialist", "org_admin", "org_staff", "finance", "affiliate"]:
        assert f"{role}.a@example.test" in body
    assert "example.test" in body and ".b@example.test" not in body
    assert 'name="email"' in body  # the invitation form
    assert '<th scope="col">' in body and '<th scope="row">' in body


def test_org_admin_sees_only_their_organization(world, client_for):
    response = client_for(world.a.org_admin, world.a.brand).get("/org/members/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "org_staff.a@example.test" in body and "finance.a@example.test" in body
    assert "operator.a@example.test" not in body
    assert "patient.a@example.test" not in body
    assert "specialist.a@example.test" not in body
    assert ".b@example.test" not in body


def test_people_can_be_filtered_by_role_and_text(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    body = client.get("/org/members/?role=finance").content.decode()
    assert "finance.a@example.test" in body and "org_staff.a@example.test" not in body
    body = client.get("/org/members/?q=affiliate").content.decode()
    assert "affiliate.a@example.test" in body and "finance.a@example.test" not in body


@pytest.mark.parametrize(
    "role", ["org_staff", "finance", "patient", "specialist", "affiliate", "outsider"]
)
def test_other_roles_cannot_reach_the_people_page(world, client_for, role, invite):
    user = world.outsider if role == "outsider" else world.a.people[role]
    client = client_for(user, world.a.brand)
    invitations, events = Invitation.objects.count(), AuditEvent.objects.count()
    assert client.get("/org/members/").status_code in DENIED
    response = invite(
        client, email="new@example.test", role="org_staff", organization=world.a.clinic.pk
    )
    assert response.status_code in DENIED
    target = world.a.org_staff.memberships.get()
    assert client.post(f"/org/members/{target.pk}/revoke/").status_code in DENIED
    target.refresh_from_db()
    assert target.revoked_at is None
    assert Invitation.objects.count() == invitations
    assert AuditEvent.objects.count() == events
    assert mail.outbox == []


# --- inviting -------------------------------------------------------------------------------


def test_operator_invites_a_specialist_who_accepts_as_a_new_user(world, client_for, invite):
    client = client_for(world.a.operator, world.a.brand)
    response = invite(
        client,
        email="New.Doctor@Example.test",
        role="specialist",
        brand=world.a.brand.pk,
        organization=world.a.clinic.pk,
    )
    assert response.status_code == 302, response.content.decode()
    invitation = Invitation.objects.get(email="new.doctor@example.test")
    # Specialists join the network: a brand or organization sent along is dropped.
    assert (invitation.role, invitation.brand, invitation.organization) == (
        "specialist",
        None,
        None,
    )
    assert invitation.sent_on_brand == world.a.brand
    assert invitation.invited_by == world.a.operator
    event = AuditEvent.objects.get(action="invitation.sent")
    assert event.data == {"email": "new.doctor@example.test", "role": "specialist"}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.doctor@example.test"]
    link = link_in(message)
    assert link.startswith("http://a.test/accounts/invitation/")
    page = client.get("/org/members/").content.decode()
    assert '<th scope="row">new.doctor@example.test</th>' in page  # an open invitation

    visitor = client_for(None, world.a.brand)
    assert visitor.get(path_of(link)).status_code == 200
    response = visitor.post(
        path_of(link),
        {
            "name": "New Doctor",
            "password1": "a-Long-pass-phrase-42",
            "password2": "a-Long-pass-phrase-42",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.doctor@example.test")
    assert user.name == "New Doctor"
    membership = user.memberships.get()
    assert (membership.role, membership.network) == ("specialist", world.a.network)
    invitation.refresh_from_db()
    assert invitation.accepted_by == user
    assert visitor.get("/specialist/").status_code == 200
    # The link is spent.
    assert client_for(None, world.a.brand).get(path_of(link)).status_code == 404


def test_operator_invites_to_brand_and_organization_roles(world, client_for, invite):
    client = client_for(world.a.operator, world.a.brand)
    assert (
        invite(client, email="p@example.test", role="patient", brand=world.a.sister.pk).status_code
        == 302
    )
    assert (
        invite(
            client, email="f@example.test", role="finance", organization=world.a.clinic.pk
        ).status_code
        == 302
    )
    assert (
        invite(
            client, email="o@example.test", role="operator", organization=world.a.operator_org.pk
        ).status_code
        == 302
    )
    scopes = {i.email: (i.role, i.brand, i.organization) for i in Invitation.objects.all()}
    assert scopes == {
        "p@example.test": ("patient", world.a.sister, None),
        "f@example.test": ("finance", None, world.a.clinic),
        "o@example.test": ("operator", None, world.a.operator_org),
    }
    assert len(mail.outbox) == 3


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-email", "role": "specialist"}, "email"),
        ({"email": "x@example.test", "role": "superuser"}, "role"),
        ({"email": "x@example.test", "role": "patient"}, "brand"),  # which brand?
        ({"email": "x@example.test", "role": "org_staff"}, "organization"),
        ({"email": "x@example.test", "role": "patient", "brand": "B"}, "brand"),
        ({"email": "x@example.test", "role": "org_staff", "organization": "B"}, "organization"),
        ({"email": "specialist.a@example.test", "role": "specialist"}, "email"),  # has it
    ],
)
def test_bad_invitations_are_refused_by_the_operator_form(world, client_for, data, field, invite):
    data = dict(data)
    if data.get("brand") == "B":
        data["brand"] = world.b.brand.pk
    if data.get("organization") == "B":
        data["organization"] = world.b.clinic.pk
    client = client_for(world.a.operator, world.a.brand)
    events = AuditEvent.objects.count()
    response = invite(client, **data)
    assert response.status_code == 400
    assert errors_of(response, field), response.content.decode()
    assert not Invitation.objects.exists()
    assert AuditEvent.objects.count() == events
    assert mail.outbox == []


def test_the_operator_role_needs_the_operator_organization(world, client_for, invite):
    client = client_for(world.a.operator, world.a.brand)
    response = invite(
        client, email="x@example.test", role="operator", organization=world.a.clinic.pk
    )
    assert response.status_code == 400
    assert "operator organization" in response.content.decode()
    assert not Invitation.objects.exists()


def test_the_same_open_invitation_is_not_sent_twice(world, client_for, invite):
    client = client_for(world.a.operator, world.a.brand)
    data = {"email": "twice@example.test", "role": "specialist"}
    assert invite(client, **data).status_code == 302
    response = invite(client, **data)
    assert response.status_code == 400
    assert "already waiting" in errors_of(response, "email")
    assert Invitation.objects.count() == 1 and len(mail.outbox) == 1


def test_org_admin_invites_only_org_roles_into_their_own_organization(world, client_for, invite):
    client = client_for(world.a.org_admin, world.a.brand)
    page = client.get("/org/members/").content.decode()
    role_select = re.search(r'<select name="role".*?</select>', page, re.S).group(0)
    assert 'value="org_staff"' in role_select and 'value="finance"' in role_select
    assert 'value="operator"' not in role_select and 'value="specialist"' not in role_select
    assert 'name="brand"' not in page
    assert world.a.operator_org.name not in page

    ok = invite(
        client, email="staff@example.test", role="org_staff", organization=world.a.clinic.pk
    )
    assert ok.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.role, invitation.organization) == ("org_staff", world.a.clinic)
    assert len(mail.outbox) == 1

    refused = [
        ({"role": "operator", "organization": world.a.operator_org.pk}, "role"),
        ({"role": "specialist"}, "role"),
        ({"role": "patient", "brand": world.a.brand.pk}, "role"),
        ({"role": "org_admin", "organization": world.a.operator_org.pk}, "organization"),
        ({"role": "org_staff", "organization": world.b.clinic.pk}, "organization"),
    ]
    events = AuditEvent.objects.count()
    for data, field in refused:
        response = invite(client, email="nope@example.test", **data)
        assert response.status_code == 400, data
        assert errors_of(response, field), data
    assert Invitation.objects.count() == 1
    assert AuditEvent.objects.count() == events
    assert len(mail.outbox) == 1


def test_invitations_are_sent_from_a_brand_site_not_the_platform_host(world, client_for, invite):
    client = client_for(world.a.operator, None, host="localhost")
    assert "from a brand" in client.get("/org/members/").content.decode()
    response = invite(client, email="x@example.test", role="specialist")
    assert response.status_code == 400
    assert not Invitation.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_an_expired_or_revoked_invitation_is_refused(world, client_for, state, invite):
    client = client_for(world.a.operator, world.a.brand)
    invite(client, email="late@example.test", role="specialist")
    invitation = Invitation.objects.get()
    link = link_in(mail.outbox[0])
    if state == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    else:
        response = client.post(f"/org/members/invitations/{invitation.pk}/revoke/")
        assert response.status_code == 302
        invitation.refresh_from_db()
        assert invitation.revoked_at is not None
        assert AuditEvent.objects.filter(action="invitation.revoked").count() == 1
        page = client.get("/org/members/").content.decode()
        assert '<th scope="row">late@example.test</th>' not in page
    visitor = client_for(None, world.a.brand)
    assert visitor.get(path_of(link)).status_code == 404
    response = visitor.post(
        path_of(link),
        {
            "name": "Late",
            "password1": "a-Long-pass-phrase-42",
            "password2": "a-Long-pass-phrase-42",
        },
    )
    assert response.status_code == 404
    assert not User.objects.filter(email="late@example.test").exists()


def test_invitations_of_another_network_cannot_be_revoked(world, client_for, invite):
    invite(client_for(world.b.operator, world.b.brand), email="b@example.test", role="specialist")
    foreign = Invitation.objects.get()
    client = client_for(world.a.operator, world.a.brand)
    assert client.post(f"/org/members/invitations/{foreign.pk}/revoke/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None
    assert "b@example.test" not in client.get("/org/members/").content.decode()


# --- revoking -------------------------------------------------------------------------------


def test_operator_revokes_a_role(world, client_for):
    target = world.a.finance.memberships.get()
    client = client_for(world.a.operator, world.a.brand)
    response = client.post(f"/org/members/{target.pk}/revoke/")
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.revoked_at is not None
    event = AuditEvent.objects.latest("seq")
    assert event.action == "membership.revoked"
    assert event.data == {"user": "finance.a@example.test", "role": "finance"}
    assert event.actor == world.a.operator
    assert client_for(world.a.finance, world.a.brand).get("/org/").status_code == 403


def test_revoking_is_post_only(world, client_for):
    target = world.a.finance.memberships.get()
    client = client_for(world.a.operator, world.a.brand)
    assert client.get(f"/org/members/{target.pk}/revoke/").status_code == 405
    target.refresh_from_db()
    assert target.revoked_at is None


def test_nobody_revokes_their_own_operator_role(world, client_for):
    own = world.a.operator.memberships.get()
    client = client_for(world.a.operator, world.a.brand)
    events = AuditEvent.objects.count()
    response = client.post(f"/org/members/{own.pk}/revoke/", follow=True)
    assert "You cannot take away this role" in response.content.decode()
    own.refresh_from_db()
    assert own.revoked_at is None
    assert AuditEvent.objects.count() == events


def test_an_org_admin_does_not_revoke_their_own_acting_role(world, client_for):
    own = world.a.org_admin.memberships.get()
    client = client_for(world.a.org_admin, world.a.brand)
    client.post(f"/org/members/{own.pk}/revoke/")
    own.refresh_from_db()
    assert own.revoked_at is None


@pytest.mark.parametrize(
    ("actor", "target"),
    [
        ("a.operator", "b.finance"),  # another network
        ("a.org_admin", "b.org_staff"),
        ("a.org_admin", "a.operator"),  # not in their organization
        ("a.org_admin", "a.patient"),
        ("a.org_admin", "a.specialist"),
    ],
)
def test_out_of_scope_memberships_are_not_found(world, client_for, actor, target):
    side, role = actor.split(".")
    t_side, t_role = target.split(".")
    actor_user = getattr(world, side).people[role]
    target_membership = getattr(world, t_side).people[t_role].memberships.get()
    client = client_for(actor_user, getattr(world, side).brand)
    events = AuditEvent.objects.count()
    assert client.post(f"/org/members/{target_membership.pk}/revoke/").status_code == 404
    target_membership.refresh_from_db()
    assert target_membership.revoked_at is None
    assert AuditEvent.objects.count() == events


def test_org_admin_revokes_a_colleague(world, client_for):
    target = world.a.org_staff.memberships.get()
    client = client_for(world.a.org_admin, world.a.brand)
    assert client.post(f"/org/members/{target.pk}/revoke/").status_code == 302
    assert Membership.objects.get(pk=target.pk).revoked_at is not None


def test_invitation_link_points_at_the_brands_primary_domain(world, client_for, invite):
    from caredoor.core.brands.actions import do_add_domain

    do_add_domain(world.a.brand, "alias.a.test", actor=None, actor_role="")
    client = client_for(world.a.operator, None, host="alias.a.test")
    response = invite(client, email="via.alias@example.test", role="specialist")
    assert response.status_code == 302
    assert link_in(mail.outbox[-1]).startswith("http://a.test/accounts/invitation/")
