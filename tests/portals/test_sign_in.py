"""Sign-in offers exactly the brand's methods, and every attempt is audited."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache

from caredoor.core.accounts.models import Membership, User
from caredoor.core.compliance.models import AuditEvent
from tests import factories


def _set_methods(brand, methods, visibility="public"):
    brand.sign_in_methods = methods
    brand.visibility = visibility
    brand.save()


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_password_sign_in_lands_in_the_persons_portal(world, client_for):
    client = client_for(None, world.a.brand)
    response = client.post(
        "/accounts/login/", {"login": world.a.patient.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    event = AuditEvent.objects.filter(action="auth.sign_in").latest("seq")
    assert event.actor == world.a.patient and event.brand == world.a.brand
    assert event.data == {"method": "password"}


def test_specialist_lands_in_the_specialist_portal(world, client_for):
    client = client_for(None, world.a.brand)
    response = client.post(
        "/accounts/login/", {"login": world.a.specialist.email, "password": factories.PASSWORD}
    )
    assert response["Location"] == "/specialist/"


def test_failed_sign_in_is_audited_without_the_password(world, client_for):
    client = client_for(None, world.a.brand)
    response = client.post(
        "/accounts/login/", {"login": world.a.patient.email, "password": "wrong-password-1"}
    )
    assert response.status_code == 200 and not _signed_in(client)
    event = AuditEvent.objects.filter(action="auth.sign_in_failed").latest("seq")
    assert event.data == {"email": world.a.patient.email}
    assert "wrong-password" not in str(event.data)


def test_mfa_roles_need_their_code(world, client_for):
    cache.clear()
    client = client_for(None, world.a.brand)
    response = client.post(
        "/accounts/login/?next=/org/",
        {"login": world.a.org_admin.email, "password": factories.PASSWORD},
    )
    assert response.status_code == 302 and "/2fa/authenticate" in response["Location"]
    assert not _signed_in(client)
    bad = client.post(response["Location"], {"code": "000000"})
    assert bad.status_code == 200 and not _signed_in(client)
    good = client.post(response["Location"], {"code": factories.totp_now()})
    assert good.status_code == 302 and _signed_in(client)
    assert client.get("/org/").status_code == 200


def test_login_page_offers_only_the_brands_methods(world, client_for):
    _set_methods(world.a.brand, ["magic_link"])
    page = client_for(None, world.a.brand).get("/accounts/login/").content.decode()
    assert 'name="password"' not in page
    assert 'data-method="magic_link"' in page
    assert 'data-method="email_code"' not in page
    _set_methods(world.a.brand, ["password", "email_code"])
    page = client_for(None, world.a.brand).get("/accounts/login/").content.decode()
    assert 'name="password"' in page
    assert 'data-method="email_code"' in page
    assert 'data-method="magic_link"' not in page


def test_password_post_is_refused_where_passwords_are_off(world, client_for):
    _set_methods(world.a.brand, ["magic_link"])
    client = client_for(None, world.a.brand)
    response = client.post(
        "/accounts/login/", {"login": world.a.patient.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 200
    assert "Password sign-in is not offered on this site." in response.content.decode()
    assert not _signed_in(client)


def test_email_code_exists_only_where_offered(world, client_for):
    _set_methods(world.a.brand, ["password"])
    assert client_for(None, world.a.brand).get("/accounts/login/code/").status_code == 404
    _set_methods(world.a.brand, ["email_code"])
    client = client_for(None, world.a.brand)
    assert client.get("/accounts/login/code/").status_code == 200
    response = client.post("/accounts/login/code/", {"email": world.a.patient.email})
    assert response.status_code == 302
    body = mail.outbox[-1].body
    assert body.startswith("Hello from Brand A!")
    code = body.split("\n\n")[2].strip()
    assert mail.outbox[-1].subject.startswith("[Brand A]")
    response = client.post("/accounts/login/code/confirm/", {"code": code})
    assert response.status_code == 302 and _signed_in(client)
    assert AuditEvent.objects.filter(action="auth.sign_in").latest("seq").data == {"method": "code"}


def test_magic_link_is_single_use_and_needs_a_click(
    world, client_for, django_capture_on_commit_callbacks
):
    client = client_for(None, world.a.brand)
    with django_capture_on_commit_callbacks(execute=True):  # the email leaves on commit
        response = client.post("/accounts/magic/", {"email": world.a.patient.email.upper()})
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Your sign-in link for Brand A"
    assert message.from_email.startswith("Brand A <")
    link = re.search(r"http://a\.test/accounts/magic/\S+/", message.body).group(0)
    path = link.removeprefix("http://a.test")
    # Opening the link (as a mail scanner would) signs nobody in.
    assert client.get(path).status_code == 200 and not _signed_in(client)
    assert client.post(path).status_code == 302 and _signed_in(client)
    assert AuditEvent.objects.filter(action="auth.sign_in").latest("seq").actor == world.a.patient
    other = client_for(None, world.a.brand)
    assert other.post(path).status_code == 400 and not _signed_in(other)


def test_magic_link_answers_the_same_for_unknown_people(
    world, client_for, django_capture_on_commit_callbacks
):
    client = client_for(None, world.a.brand)
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/accounts/magic/", {"email": world.a.patient.email})
        unknown = client.post("/accounts/magic/", {"email": "nobody@example.test"})
    assert len(mail.outbox) == 1
    assert known.status_code == unknown.status_code == 200
    for response in (known, unknown):
        assert "common/magic_link_sent.html" in [t.name for t in response.templates]


def test_magic_link_is_off_where_not_offered_and_not_for_mfa_roles(world, client_for):
    _set_methods(world.a.brand, ["password"])
    assert client_for(None, world.a.brand).get("/accounts/magic/").status_code == 404
    _set_methods(world.a.brand, ["magic_link"])
    from caredoor.core.accounts.magic import make_path

    client = client_for(None, world.a.brand)
    response = client.post(make_path(world.a.operator))
    assert response.status_code == 302 and not _signed_in(client)


def test_sign_up_makes_a_patient_of_this_brand_only(world, client_for):
    client = client_for(None, world.a.brand)
    response = client.post(
        "/accounts/signup/",
        {
            "name": "New Person",
            "email": "new.person@example.test",
            "password1": "a-long-pass-phrase-7",
            "password2": "a-long-pass-phrase-7",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.test")
    memberships = list(Membership.objects.filter(user=user))
    assert [(m.role, m.brand) for m in memberships] == [("patient", world.a.brand)]
    assert client.get("/").status_code == 200
    # On the sister brand of the same network the person is a visitor, not a patient.
    sister = client_for(user, world.a.sister)
    assert sister.get("/account/").status_code == 403


@pytest.mark.parametrize(
    ("methods", "visibility"), [(["password"], "private"), (["oidc"], "public")]
)
def test_sign_up_is_closed_on_private_brands_and_sso_only_brands(
    world, client_for, methods, visibility
):
    _set_methods(world.a.brand, methods, visibility)
    client = client_for(None, world.a.brand)
    client.post(
        "/accounts/signup/",
        {
            "name": "X",
            "email": "x@example.test",
            "password1": "a-long-pass-7x",
            "password2": "a-long-pass-7x",
        },
    )
    assert not User.objects.filter(email="x@example.test").exists()


def test_sign_out_is_audited(world, client_for):
    client = client_for(world.a.patient, world.a.brand)
    assert client.post("/accounts/logout/").status_code == 302
    assert not _signed_in(client)
    assert AuditEvent.objects.filter(action="auth.sign_out", actor=world.a.patient).exists()


def test_mfa_changes_are_audited(world):
    from allauth.mfa import signals
    from allauth.mfa.models import Authenticator

    authenticator = world.a.patient.authenticator_set.create(type=Authenticator.Type.TOTP, data={})
    signals.authenticator_added.send(
        sender=Authenticator, request=None, user=world.a.patient, authenticator=authenticator
    )
    signals.authenticator_removed.send(
        sender=Authenticator, request=None, user=world.a.patient, authenticator=authenticator
    )
    actions = list(
        AuditEvent.objects.filter(actor=world.a.patient)
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions[-2:] == ["mfa.added", "mfa.removed"]


def test_totp_secrets_are_encrypted_at_rest(world):
    from caredoor.core.compliance.crypto import decrypt_text

    stored = world.a.operator.authenticator_set.get().data["secret"]
    assert stored != factories.TOTP_SECRET
    assert decrypt_text(stored) == factories.TOTP_SECRET


def test_sso_providers_are_offered_only_on_their_brands(world, client_for):
    from allauth.socialaccount.models import SocialApp

    SocialApp.objects.create(
        provider="openid_connect",
        provider_id="acme-sso",
        name="Acme Login",
        client_id="caredoor",
        secret="s3cret",
        settings={"server_url": "https://sso.acme.example", "brands": [world.a.brand.slug]},
    )
    _set_methods(world.a.brand, ["oidc"])
    _set_methods(world.a.sister, ["oidc"])
    page = client_for(None, world.a.brand).get("/accounts/login/").content.decode()
    assert "Acme Login" in page
    sister = client_for(None, world.a.sister).get("/accounts/login/").content.decode()
    assert "Acme Login" not in sister
    assert "no identity provider is connected yet" in sister
    # The brand turns SSO off: the provider disappears although it is configured.
    _set_methods(world.a.brand, ["password"])
    assert (
        "Acme Login" not in client_for(None, world.a.brand).get("/accounts/login/").content.decode()
    )
