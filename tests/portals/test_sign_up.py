"""Sign-up on a brand: its way of signing up, its current documents, language and zone,
and nothing of one brand's activity showing on another."""

from __future__ import annotations

import html
import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import RequestFactory

from caredoor.core.accounts.models import Membership, User
from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking
from caredoor.core.care.models import CareRelationship
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.consents.actions import do_create_document, do_publish_version
from caredoor.core.consents.models import ConsentSignature
from caredoor.core.notifications.models import Notification
from caredoor.portals.common import signup as signup_module
from tests.booking_helpers import listed_with_hours, local, make_type

SIGNUP = "/accounts/signup/"
VERIFY_SENT = "/accounts/confirm-email/"
CSRF = re.compile(r'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+')
NEW = "new.person@example.test"


def _set(brand, methods, visibility="public"):
    brand.sign_in_methods = methods
    brand.visibility = visibility
    brand.save()


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _text(response) -> str:
    return html.unescape(response.content.decode())


def publish_documents(brand, operator):
    """The brand's terms and privacy notice, both required at sign-up."""
    terms = do_create_document(
        kind="terms",
        title="Terms of use",
        stage="signup",
        body="Be kind.",
        actor=operator,
        brand=brand,
    )
    privacy = do_create_document(
        kind="privacy",
        title="Privacy notice",
        stage="signup",
        body="We keep little.",
        actor=operator,
        brand=brand,
    )
    return terms, privacy


def _versions(page: str) -> str:
    return re.search(r'name="versions" value="([\d,]*)"', page).group(1)


def _form(page: str, **values) -> dict:
    """What a browser posts: the page's checkboxes ticked, its hidden versions, ``values``."""
    data = {"name": "New Person", "email": NEW, "language": "en", "time_zone": "Europe/Berlin"}
    if 'name="versions"' in page:
        data["versions"] = _versions(page)
    for name in re.findall(r'type="checkbox" name="(accept_\d+)"', page):
        data[name] = "on"
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


PASSWORD = {"password1": "a-long-pass-phrase-7", "password2": "a-long-pass-phrase-7"}


# --- password brands ------------------------------------------------------------------------


def test_password_sign_up_records_account_role_language_zone_and_acceptance(world, client_for):
    terms, privacy = publish_documents(world.a.brand, world.a.operator)
    client = client_for(None, world.a.brand)
    page = _text(client.get(SIGNUP))
    assert 'name="password1"' in page and 'name="name"' in page
    # One checkbox per document, each linking to a page a visitor can read.
    link = re.search(r'href="(/accounts/documents/\d+/)"[^>]*>Terms of use<', page).group(1)
    assert "Be kind." in _text(client.get(link))
    data = _form(page, language="de", time_zone="America/New_York", **PASSWORD)
    response = client.post(SIGNUP, data, REMOTE_ADDR="203.0.113.9")
    # The address is confirmed before the first sign-in (the same page as for an address
    # that already has an account: nothing tells the two apart).
    assert response.status_code == 302 and response["Location"] == VERIFY_SENT
    assert not _signed_in(client)
    confirm = re.search(r"http://a\.test(/accounts/confirm-email/\S+/)", mail.outbox[-1].body)
    assert mail.outbox[-1].to == [NEW]
    confirmed = client.post(confirm.group(1))
    assert confirmed.status_code == 302 and confirmed["Location"] == "/"
    assert _signed_in(client)
    user = User.objects.get(email=NEW)
    assert EmailAddress.objects.get(user=user).verified
    assert (user.name, user.language, user.time_zone) == (
        "New Person",
        "de",
        "America/New_York",
    )
    assert user.has_usable_password()
    assert [(m.role, m.brand) for m in Membership.objects.filter(user=user)] == [
        ("patient", world.a.brand)
    ]
    signatures = ConsentSignature.objects.filter(user=user).select_related("version")
    assert {(s.version.document_id, s.version.number) for s in signatures} == {
        (terms.pk, 1),
        (privacy.pk, 1),
    }
    for s in signatures:
        assert s.brand == world.a.brand and s.signed_at and s.ip == "203.0.113.9"
    created = AuditEvent.objects.get(action="account.created", actor_id=user.pk)
    assert created.data == {"via": "sign_up", "method": "password"}
    # The patient home greets them in their language; the account page can change both.
    home = client.get("/")
    assert home.status_code == 200 and home["Content-Language"] == "de"
    account = client.get("/account/")
    assert account.status_code == 200
    client.post("/account/", {"name": "New Person", "language": "en", "time_zone": "Europe/Lisbon"})
    user.refresh_from_db()
    assert (user.language, user.time_zone) == ("en", "Europe/Lisbon")


def test_language_defaults_to_the_browsers_when_offered(world, client_for):
    client = client_for(None, world.a.brand)
    german = _text(client.get(SIGNUP, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9"))
    assert re.search(r'<option value="de" selected>', german)
    french = _text(client.get(SIGNUP, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9"))
    assert re.search(r'<option value="en" selected>', french)  # the brand's default
    # The zone starts as the brand's and is marked for the browser's (signup.js).
    assert re.search(r'<option value="Europe/Berlin" selected>', french)
    assert "data-browser-zone" in french and "caredoor/js/signup.js" in french


def test_missing_fields_fall_back_to_the_browser_language_and_brand_zone(world, client_for):
    client = client_for(None, world.a.brand)
    data = _form("", language=None, time_zone=None, **PASSWORD)
    response = client.post(SIGNUP, data, HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 302
    user = User.objects.get(email=NEW)
    assert (user.language, user.time_zone) == ("de", "Europe/Berlin")


def test_missing_acceptance_is_refused_and_nothing_is_created(world, client_for):
    terms, _privacy = publish_documents(world.a.brand, world.a.operator)
    client = client_for(None, world.a.brand)
    page = _text(client.get(SIGNUP))
    data = _form(page, **PASSWORD)
    data.pop(f"accept_{terms.versions.get().pk}")
    events = AuditEvent.objects.count()
    response = client.post(SIGNUP, data)
    assert response.status_code == 200
    assert "Accept the Terms of use to continue." in _text(response)
    assert not User.objects.filter(email=NEW).exists()
    assert not ConsentSignature.objects.exists()
    assert AuditEvent.objects.count() == events and not _signed_in(client)


def test_unknown_language_and_zone_are_refused(world, client_for):
    client = client_for(None, world.a.brand)
    response = client.post(SIGNUP, _form("", language="fr", time_zone="Mars/Base", **PASSWORD))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "language" in errors and "time_zone" in errors
    assert not User.objects.filter(email=NEW).exists()


def test_a_version_published_while_the_form_was_open_is_refused(world, client_for):
    terms, _privacy = publish_documents(world.a.brand, world.a.operator)
    client = client_for(None, world.a.brand)
    page = _text(client.get(SIGNUP))
    v2 = do_publish_version(terms, body="Be kinder.", summary="Kinder.", actor=world.a.operator)
    response = client.post(SIGNUP, _form(page, **PASSWORD))
    assert response.status_code == 200
    text = _text(response)
    assert "a new version was published: Terms of use (version 2)" in text
    assert not User.objects.filter(email=NEW).exists()
    assert not ConsentSignature.objects.exists()
    # The page now shows version 2; accepting it signs the person up.
    assert f'name="accept_{v2.pk}"' in text and "(version 2)" in text
    response = client.post(SIGNUP, _form(text, **PASSWORD))
    assert response.status_code == 302
    signed = ConsentSignature.objects.filter(user__email=NEW, version__document=terms)
    assert [s.version.number for s in signed] == [2]


def test_a_version_published_during_the_save_leaves_nothing_half_written(
    world, client_for, monkeypatch
):
    """The race after the form's check: the acceptance fails inside the sign-up's
    transaction, so the account and its role are rolled back with it."""
    terms, _privacy = publish_documents(world.a.brand, world.a.operator)
    client = client_for(None, world.a.brand)
    page = _text(client.get(SIGNUP))
    stale = signup_module.signup_documents(world.a.brand)
    do_publish_version(terms, body="Be kinder.", summary="Kinder.", actor=world.a.operator)
    # The form still holds the versions it showed, and its own check let them through.
    monkeypatch.setattr(signup_module, "signup_documents", lambda brand: stale)
    monkeypatch.setattr(signup_module.ConsentFields, "check_current_versions", lambda self: None)
    response = client.post(SIGNUP, _form(page, **PASSWORD))
    assert response.status_code == 302 and response["Location"].startswith(SIGNUP)
    assert not User.objects.filter(email=NEW).exists()
    assert not Membership.objects.filter(user__email=NEW).exists()
    assert not ConsentSignature.objects.exists()
    assert "The terms changed while you were signing up" in _text(client.get(SIGNUP))


def test_an_address_with_an_account_gets_an_email_not_a_second_account(world, client_for):
    pages = []
    for email in (NEW, world.a.patient.email):
        other = client_for(None, world.a.sister)
        followed = other.post(SIGNUP, _form("", email=email, **PASSWORD), follow=True)
        pages.append(CSRF.sub("", _text(followed)).replace(email, "@"))
    assert pages[0] == pages[1] and "Confirmation email sent to" in pages[0]
    client = client_for(None, world.a.sister)
    response = client.post(SIGNUP, _form("", email=world.a.patient.email.upper(), **PASSWORD))
    # The page does not say the address is taken (the same answer as for a new account);
    # the owner learns it by email.
    assert response.status_code == 302 and response["Location"] == VERIFY_SENT
    assert User.objects.filter(email=world.a.patient.email).count() == 1
    assert not Membership.objects.filter(user=world.a.patient, brand=world.a.sister).exists()
    body = mail.outbox[-1].body
    assert mail.outbox[-1].to == [world.a.patient.email]
    assert "already has an account" in body
    assert "http://a-sister.test/accounts/join/" in body
    assert not _signed_in(client)


# --- passwordless brands --------------------------------------------------------------------


def test_email_code_brand_signs_up_without_a_password_and_confirms_by_code(world, client_for):
    _set(world.a.brand, ["email_code"])
    publish_documents(world.a.brand, world.a.operator)
    client = client_for(None, world.a.brand)
    page = _text(client.get(SIGNUP))
    assert 'name="password1"' not in page and "email you a code" in page
    response = client.post(SIGNUP, _form(page))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/code/confirm/"
    user = User.objects.get(email=NEW)
    assert not user.has_usable_password() and not _signed_in(client)
    assert Membership.objects.filter(user=user, brand=world.a.brand, role="patient").exists()
    assert ConsentSignature.objects.filter(user=user).count() == 2
    message = mail.outbox[-1]
    assert message.to == [NEW] and message.subject.startswith("[Brand A]")
    code = message.body.split("\n\n")[2].strip()
    wrong = client.post("/accounts/login/code/confirm/", {"code": "XXXXXX"})
    assert wrong.status_code == 200 and not _signed_in(client)
    confirmed = client.post("/accounts/login/code/confirm/", {"code": code})
    assert confirmed.status_code == 302 and confirmed["Location"] == "/"
    assert _signed_in(client)
    assert EmailAddress.objects.get(user=user).verified
    assert client.get("/").templates[0].name == "patient/dashboard.html"


def test_magic_link_brand_signs_up_without_a_password_and_confirms_by_link(
    world, client_for, django_capture_on_commit_callbacks
):
    _set(world.a.brand, ["magic_link"])
    client = client_for(None, world.a.brand)
    page = _text(client.get(SIGNUP))
    assert 'name="password1"' not in page and "email you a link" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SIGNUP, _form(page))
    assert response.status_code == 200 and "Check your email" in _text(response)
    user = User.objects.get(email=NEW)
    assert not user.has_usable_password() and not _signed_in(client)
    message = mail.outbox[-1]
    assert message.to == [NEW]
    path = re.search(r"http://a\.test(/accounts/magic/\S+/)", message.body).group(1)
    assert client.get(path).status_code == 200 and not _signed_in(client)
    signed_in = client.post(path)
    assert signed_in.status_code == 302 and signed_in["Location"] == "/"
    assert _signed_in(client)


@pytest.mark.parametrize("method", ["email_code", "magic_link"])
def test_passwordless_sign_up_of_a_known_address_answers_the_same(
    world, client_for, django_capture_on_commit_callbacks, method
):
    _set(world.a.sister, [method])
    answers = []
    for email in (NEW, world.a.patient.email):
        client = client_for(None, world.a.sister)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(SIGNUP, _form("", email=email))
        body = CSRF.sub("", _text(response)).replace(email, "@")
        answers.append((response.status_code, response.get("Location"), body))
        assert mail.outbox[-1].to == [email]  # a code or link, for either address
    assert answers[0] == answers[1]
    assert User.objects.filter(email=world.a.patient.email).count() == 1
    assert not Membership.objects.filter(user=world.a.patient, brand=world.a.sister).exists()


@pytest.mark.parametrize(
    ("methods", "visibility"),
    [(["password"], "private"), (["email_code", "magic_link"], "private"), (["oidc"], "public")],
)
def test_sign_up_is_closed_on_private_brands_and_sso_only_brands(
    world, client_for, methods, visibility
):
    _set(world.a.brand, methods, visibility)
    client = client_for(None, world.a.brand)
    page = _text(client.get(SIGNUP))
    assert "Sign-up is closed here" in page and 'name="email"' not in page
    client.post(SIGNUP, _form("", **PASSWORD))
    assert not User.objects.filter(email=NEW).exists()
    landing = _text(client.get("/"))
    assert "/accounts/signup/" not in landing


def test_sso_sign_up_registers_a_patient_even_on_a_private_brand(world):
    from allauth.socialaccount.adapter import get_adapter
    from allauth.socialaccount.models import SocialAccount, SocialLogin

    _set(world.a.brand, ["oidc"], "private")
    request = RequestFactory().get("/", HTTP_HOST="a.test")
    request.brand = world.a.brand
    request.session = {}
    login = SocialLogin(
        user=User(email="sso.person@example.test"),
        account=SocialAccount(provider="acme-sso", uid="42"),
    )
    adapter = get_adapter(request)
    assert adapter.is_open_for_signup(request, login)
    user = adapter.save_user(request, login)
    assert [(m.role, m.brand) for m in Membership.objects.filter(user=user)] == [
        ("patient", world.a.brand)
    ]


def test_signed_in_people_of_every_role_are_not_signed_up_again(world, client_for):
    people = [getattr(world.a, r) for r in ("patient", "specialist", "org_admin", "operator")]
    people += [world.b.patient, world.outsider]
    for person in people:
        client = client_for(person, world.a.brand)
        before = Membership.objects.filter(user=person).count()
        response = client.post(SIGNUP, _form("", email=person.email, **PASSWORD))
        assert response.status_code == 302
        assert Membership.objects.filter(user=person).count() == before
    assert not User.objects.filter(email=NEW).exists()


# --- joining another brand, and what each brand shows ---------------------------------------


def test_an_existing_account_joins_another_brand_by_an_explicit_step(world, client_for):
    publish_documents(world.a.sister, world.a.operator)
    person = world.a.patient
    client = client_for(person, world.a.sister)
    landing = _text(client.get("/"))
    assert "which has no role on this site" in landing and "/accounts/join/" in landing
    page = _text(client.get("/accounts/join/"))
    refused = client.post("/accounts/join/", {"versions": _versions(page)})
    assert refused.status_code == 200
    assert not Membership.objects.filter(user=person, brand=world.a.sister).exists()
    joined = client.post("/accounts/join/", _form(page))
    assert joined.status_code == 302 and joined["Location"] == "/"
    assert Membership.objects.filter(user=person, brand=world.a.sister, role="patient").exists()
    assert ConsentSignature.objects.filter(user=person, brand=world.a.sister).count() == 2
    assert client.get("/").templates[0].name == "patient/dashboard.html"
    # Joining again changes nothing.
    assert client.get("/accounts/join/")["Location"] == "/"


def test_join_needs_a_sign_in_and_is_closed_on_private_brands(world, client_for):
    anonymous = client_for(None, world.a.sister)
    response = anonymous.get("/accounts/join/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    _set(world.a.sister, ["password"], "private")
    people = [getattr(world.a, r) for r in ("patient", "specialist", "org_admin", "operator")]
    people += [world.b.patient, world.outsider]
    for person in people:
        client = client_for(person, world.a.sister)
        assert client.get("/accounts/join/").status_code == 404
        assert client.post("/accounts/join/", {}).status_code == 404
    assert not Membership.objects.filter(brand=world.a.sister, role="patient").exists()


def test_a_second_brand_shows_nothing_of_the_first(
    world, client_for, django_capture_on_commit_callbacks
):
    publish_documents(world.a.brand, world.a.operator)
    publish_documents(world.a.sister, world.a.operator)
    profile, _listings = listed_with_hours(world.a, [world.a.brand, world.a.sister])
    session_type = make_type(profile, name="First talk")
    # Sign up on brand A and book there (a booking, a care relationship, notifications).
    client_a = client_for(None, world.a.brand)
    page = _text(client_a.get(SIGNUP))
    client_a.post(SIGNUP, _form(page, **PASSWORD))
    person = User.objects.get(email=NEW)
    with django_capture_on_commit_callbacks(execute=True):
        booking = do_book(
            patient=person, brand=world.a.brand, session_type=session_type, start=local(10)
        )
    assert CareRelationship.objects.filter(patient=person, brand=world.a.brand).exists()
    assert Notification.objects.filter(user=person, brand=world.a.brand).exists()
    client_a.force_login(person)
    assert "First talk" in _text(client_a.get("/sessions/"))
    # Sign up again on the sister brand with the same address: told to sign in and join.
    client_b = client_for(None, world.a.sister)
    client_b.post(SIGNUP, _form(_text(client_b.get(SIGNUP)), **PASSWORD))
    assert User.objects.filter(email=NEW).count() == 1
    client_b.force_login(person)
    client_b.post("/accounts/join/", _form(_text(client_b.get("/accounts/join/"))))
    assert Membership.objects.filter(user=person, brand=world.a.sister).exists()
    home = _text(client_b.get("/"))
    assert "You have no upcoming sessions." in home and "First talk" not in home
    sessions = _text(client_b.get("/sessions/"))
    assert "First talk" not in sessions and f"/sessions/{booking.pk}/" not in sessions
    assert client_b.get(f"/sessions/{booking.pk}/").status_code == 404
    inbox = client_b.get("/notifications/")
    assert inbox.status_code == 200 and "First talk" not in _text(inbox)
    assert not Notification.objects.filter(user=person, brand=world.a.sister).exists()
    # Signatures count on the brand they were made on only.
    on_a = ConsentSignature.objects.filter(user=person, brand=world.a.brand)
    on_b = ConsentSignature.objects.filter(user=person, brand=world.a.sister)
    assert on_a.count() == on_b.count() == 2
    assert not set(on_a.values_list("version", flat=True)) & set(
        on_b.values_list("version", flat=True)
    )
    assert not CareRelationship.objects.filter(patient=person, brand=world.a.sister).exists()
    assert Booking.objects.filter(patient=person).count() == 1
