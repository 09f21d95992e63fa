"""New accounts come into being only together with the role they were made for."""

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from caredoor.core.accounts import actions
from caredoor.core.accounts.models import Invitation, User
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.specialists.actions import do_register_new_specialist


def _request(brand):  # type: ignore[no-untyped-def]
    request = RequestFactory().post("/", HTTP_HOST="a.test")
    request.brand = brand
    request.user = User()
    return request


def test_a_failed_acceptance_leaves_no_account(world):
    operator = world.a.operator.memberships.get()
    invitation, _token = actions.do_invite(
        inviter=operator,
        email="late@example.test",
        role="specialist",
        brand=None,
        organization=None,
        sent_on_brand=world.a.brand,
        request=_operator_request(world),
    )
    actions.do_revoke_invitation(
        invitation, actor=world.a.operator, actor_role="operator", request=_request(world.a.brand)
    )
    with pytest.raises(ValidationError):
        actions.do_accept_invitation_as_new_person(
            Invitation.objects.get(pk=invitation.pk),
            name="Late",
            password="a-long-pass-12",
            request=_request(world.a.brand),
        )
    assert not User.objects.filter(email="late@example.test").exists()
    assert not AuditEvent.objects.filter(action="account.created").exists()


def _operator_request(world):  # type: ignore[no-untyped-def]
    request = _request(world.a.brand)
    request.user = world.a.operator
    return request


def test_registering_a_new_specialist_audits_the_account_and_the_role(world):
    profile = do_register_new_specialist(
        email="New@Example.test",
        password="a-long-pass-12",
        name="  Nia  ",
        brand=world.a.brand,
        request=_request(world.a.brand),
    )
    assert profile.user.email == "new@example.test" and profile.user.name == "Nia"
    assert profile.user.check_password("a-long-pass-12")
    actions_logged = list(
        AuditEvent.objects.filter(actor=profile.user)
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions_logged == ["account.created", "membership.granted", "specialist.registered"]
