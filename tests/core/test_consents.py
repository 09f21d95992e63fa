"""Consents in core: versions, re-consent, withdrawal, IP, brand scope, the gates."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from caredoor.core.booking.actions import do_book
from caredoor.core.booking.models import Booking
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.consents import actions, queries
from caredoor.core.consents.gate import session_blockers
from caredoor.core.consents.models import ConsentSignature, ConsentVersion
from tests import factories
from tests.booking_helpers import listed_with_hours, local, make_type

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def consents_module(world):
    """Brand A and its sister offer the consents module (B's brand does not)."""
    for brand in (world.a.brand, world.a.sister):
        brand.modules = [*brand.modules, "consents"]
        brand.save(update_fields=["modules"])


def make_doc(owner, *, kind="terms", stage="signup", title=None, actor=None, **kw):  # type: ignore[no-untyped-def]
    key = "brand" if hasattr(owner, "domains") else "organization"
    return actions.do_create_document(
        kind=kind,
        title=title or f"{kind} document",
        stage=stage,
        body=f"The {kind} text.",
        actor=actor,
        **{key: owner},
        **kw,
    )


def req(ip: str = "203.0.113.9", agent: str = "TestBrowser/1.0"):  # type: ignore[no-untyped-def]
    return RequestFactory().post("/", REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)


def test_versions_are_numbered_and_the_latest_is_current(world):
    doc = make_doc(world.a.brand, actor=world.a.operator)
    v2 = actions.do_publish_version(doc, body="New text", summary="Clearer", actor=world.a.operator)
    assert v2.number == 2
    assert queries.current_version(doc) == v2
    assert queries.signup_documents(world.a.brand) == [v2]
    assert AuditEvent.objects.filter(
        action="consent.version_published", data__version=2, data__document=doc.pk
    ).exists()


def test_a_published_version_cannot_be_changed(world):
    doc = make_doc(world.a.brand)
    v1 = queries.current_version(doc)
    v1.body = "changed"
    with pytest.raises(ValueError):
        v1.save()
    with pytest.raises(ValueError):
        v1.delete()
    assert ConsentVersion.objects.get(pk=v1.pk).body == "The terms text."


def test_publishing_needs_a_body_and_a_summary(world):
    doc = make_doc(world.a.brand)
    with pytest.raises(ValidationError):
        actions.do_publish_version(doc, body="", summary="x", actor=world.a.operator)
    with pytest.raises(ValidationError):
        actions.do_publish_version(doc, body="text", summary=" ", actor=world.a.operator)
    assert doc.versions.count() == 1


def test_signing_records_version_time_ip_and_browser_and_is_idempotent(world):
    doc = make_doc(world.a.brand)
    v1 = queries.current_version(doc)
    patient = world.a.patient
    assert queries.outstanding(patient, world.a.brand, "signup") == [v1]
    sig = actions.do_sign(patient, v1, brand=world.a.brand, request=req())
    assert sig.ip == "203.0.113.9"
    assert sig.user_agent == "TestBrowser/1.0"
    assert sig.signed_at is not None
    assert actions.do_sign(patient, v1, brand=world.a.brand, request=req()) == sig
    assert ConsentSignature.objects.filter(user=patient).count() == 1
    assert queries.outstanding(patient, world.a.brand, "signup") == []
    event = AuditEvent.objects.get(action="consent.signed")
    assert event.data == {"document": doc.pk, "version": 1, "version_id": v1.pk}
    assert event.ip == "203.0.113.9"


def test_a_new_version_asks_for_re_consent(world):
    doc = make_doc(world.a.brand, kind="telehealth", stage="booking")
    v1 = queries.current_version(doc)
    actions.do_sign(world.a.patient, v1, brand=world.a.brand)
    assert queries.outstanding(world.a.patient, world.a.brand, "booking") == []
    v2 = actions.do_publish_version(doc, body="v2", summary="Changes", actor=world.a.operator)
    assert queries.outstanding(world.a.patient, world.a.brand, "booking") == [v2]
    [row] = queries.consent_status(world.a.patient, world.a.brand)
    assert (row.state, row.signed_version, row.current) == ("outdated", v1, v2)


def test_a_non_current_version_is_refused(world):
    doc = make_doc(world.a.brand)
    v1 = queries.current_version(doc)
    actions.do_publish_version(doc, body="v2", summary="Changes", actor=world.a.operator)
    with pytest.raises(ValidationError) as exc:
        actions.do_sign(world.a.patient, v1, brand=world.a.brand)
    assert exc.value.code == "not_current"
    assert not ConsentSignature.objects.exists()


def test_another_brands_document_is_refused_and_signatures_do_not_cross_brands(world):
    doc = make_doc(world.a.brand)
    v1 = queries.current_version(doc)
    with pytest.raises(ValidationError) as exc:
        actions.do_sign(world.a.patient, v1, brand=world.a.sister)
    assert exc.value.code == "not_applicable"
    with pytest.raises(ValidationError):
        actions.do_sign(world.b.patient, v1, brand=world.b.brand)
    # An organization's document applies to every brand it serves; a signature counts on
    # the brand it was made on only.
    world.a.clinic.brands.add(world.a.sister)
    org_doc = make_doc(world.a.clinic, kind="data_processing")
    ov = queries.current_version(org_doc)
    actions.do_sign(world.a.patient, ov, brand=world.a.brand)
    assert ov not in queries.outstanding(world.a.patient, world.a.brand, "signup")
    assert ov in queries.outstanding(world.a.patient, world.a.sister, "signup")
    assert queries.documents_for(world.b.brand).count() == 0


def test_operator_documents_apply_to_every_brand_of_the_network(world):
    doc = make_doc(world.a.operator_org, kind="privacy")
    v1 = queries.current_version(doc)
    assert queries.signup_documents(world.a.brand) == [v1]
    assert queries.signup_documents(world.a.sister) == [v1]
    assert queries.signup_documents(world.b.brand) == []


def test_withdrawal_marks_the_signature_and_the_document_is_outstanding_again(world):
    doc = make_doc(world.a.brand, kind="telehealth", stage="session")
    v1 = queries.current_version(doc)
    sig = actions.do_sign(world.a.patient, v1, brand=world.a.brand)
    with pytest.raises(ValidationError):
        actions.do_withdraw(sig, user=world.b.patient)
    sig = actions.do_withdraw(sig, user=world.a.patient, request=req("198.51.100.7"))
    assert sig.withdrawn_at is not None and sig.withdrawal_ip == "198.51.100.7"
    assert queries.outstanding(world.a.patient, world.a.brand, "session") == [v1]
    [row] = queries.consent_status(world.a.patient, world.a.brand)
    assert row.state == "withdrawn"
    with pytest.raises(ValidationError):
        actions.do_withdraw(sig, user=world.a.patient)
    assert AuditEvent.objects.filter(action="consent.withdrawn", target_id=str(sig.pk)).exists()
    # Signing again makes it valid again.
    actions.do_sign(world.a.patient, v1, brand=world.a.brand)
    assert queries.outstanding(world.a.patient, world.a.brand, "session") == []


def test_stages_due_by_and_status_rows(world):
    terms = make_doc(world.a.brand, kind="terms", stage="signup")
    tele = make_doc(world.a.brand, kind="telehealth", stage="booking")
    treat = make_doc(world.a.brand, kind="treatment", stage="session")
    p = world.a.patient
    assert [v.document for v in queries.outstanding(p, world.a.brand, "signup")] == [terms]
    assert [v.document for v in queries.outstanding(p, world.a.brand, "booking")] == [terms, tele]
    assert [v.document for v in queries.outstanding(p, world.a.brand, "session")] == [
        terms,
        tele,
        treat,
    ]
    actions.do_sign(p, queries.current_version(tele), brand=world.a.brand)
    states = {r.document.pk: r.state for r in queries.consent_status(p, world.a.brand)}
    assert states == {terms.pk: "missing", tele.pk: "signed", treat.pk: "missing"}


def test_retired_documents_are_not_asked_for(world):
    doc = make_doc(world.a.brand)
    actions.do_set_document_active(doc, active=False, actor=world.a.operator)
    assert queries.outstanding(world.a.patient, world.a.brand, "session") == []
    with pytest.raises(ValidationError):
        actions.do_sign(world.a.patient, queries.current_version(doc), brand=world.a.brand)


def test_accept_at_signup_needs_exactly_the_current_documents(world):
    t = make_doc(world.a.brand, kind="terms")
    p = make_doc(world.a.brand, kind="privacy")
    tv, pv = queries.current_version(t), queries.current_version(p)
    user = factories.make_user("new@example.test")
    with pytest.raises(ValidationError) as exc:
        actions.do_accept_at_signup(user, world.a.brand, [tv])
    assert exc.value.code == "incomplete"
    actions.do_publish_version(p, body="v2", summary="x", actor=world.a.operator)
    with pytest.raises(ValidationError) as exc:
        actions.do_accept_at_signup(user, world.a.brand, [tv, pv])
    assert exc.value.code == "not_current"
    assert not ConsentSignature.objects.filter(user=user).exists()
    sigs = actions.do_accept_at_signup(
        user, world.a.brand, queries.signup_documents(world.a.brand), request=req()
    )
    assert {s.version.document_id for s in sigs} == {t.pk, p.pk}
    assert all(s.ip == "203.0.113.9" for s in sigs)


def test_document_needs_exactly_one_owner(world):
    with pytest.raises(ValueError):
        actions.do_create_document(kind="terms", title="x", stage="signup", body="b", actor=None)


# --- the gates ------------------------------------------------------------------------------


def _booking(world):  # type: ignore[no-untyped-def]
    profile, _ = listed_with_hours(world.a)
    st = make_type(profile)
    booking = do_book(
        patient=world.a.patient, brand=world.a.brand, session_type=st, start=local(10)
    )
    return profile, st, booking


def test_a_session_with_a_missing_required_consent_cannot_start(world):
    _profile, _st, booking = _booking(world)
    assert session_blockers(booking) == []
    doc = make_doc(world.a.brand, kind="recording", stage="session")
    v1 = queries.current_version(doc)
    assert session_blockers(booking) == [v1]
    actions.do_sign(world.a.patient, v1, brand=world.a.brand)
    assert session_blockers(booking) == []


def test_a_specialists_required_document_blocks_their_sessions_only(world):
    profile, _st, booking = _booking(world)
    # An on-request document (no stage) is asked for only by specialists who require it.
    doc = make_doc(world.a.brand, kind="recording", stage="")
    v1 = queries.current_version(doc)
    assert session_blockers(booking) == []
    assert queries.outstanding(world.a.patient, world.a.brand, "session") == []
    actions.do_set_requirements(profile, world.a.brand, [doc], actor=world.a.specialist)
    assert list(queries.specialist_requirements(profile, world.a.brand)) == [doc]
    assert session_blockers(booking) == [v1]
    # Not before booking: the specialist's requirements are due before the session only.
    assert queries.outstanding(world.a.patient, world.a.brand, "booking", profile=profile) == []
    # Without the profile (another specialist's patients) it is not asked for.
    assert queries.outstanding(world.a.patient, world.a.brand, "session") == []
    [row] = queries.consent_status(world.a.patient, world.a.brand, profile=profile)
    assert (row.required_by, row.state) == ("session", "missing")
    # Without the specialist, an on-request document never signed is not listed...
    assert queries.consent_status(world.a.patient, world.a.brand) == []
    # ...once signed it is (so it can be withdrawn), marked as not required.
    actions.do_sign(world.a.patient, v1, brand=world.a.brand)
    [row] = queries.consent_status(world.a.patient, world.a.brand)
    assert row.required_by == "" and not row.is_required and row.state == "signed"
    assert AuditEvent.objects.filter(
        action="consent.requirements_changed", data__added=[doc.pk]
    ).exists()
    actions.do_set_requirements(profile, world.a.brand, [], actor=world.a.specialist)
    ConsentSignature.objects.all().delete()
    assert session_blockers(booking) == []


def test_requiring_another_brands_document_is_refused(world):
    profile, _ = listed_with_hours(world.a)
    b_doc = make_doc(world.b.brand)
    with pytest.raises(ValidationError):
        actions.do_set_requirements(profile, world.a.brand, [b_doc], actor=world.a.specialist)
    sister_doc = make_doc(world.a.sister)
    with pytest.raises(ValidationError):
        actions.do_set_requirements(profile, world.a.brand, [sister_doc], actor=world.a.specialist)
    assert not queries.specialist_requirements(profile).exists()


def test_do_book_is_refused_while_a_before_booking_consent_is_unsigned(world):
    profile, _ = listed_with_hours(world.a)
    st = make_type(profile)
    doc = make_doc(world.a.brand, kind="telehealth", stage="booking")
    with pytest.raises(ValidationError) as exc:
        do_book(patient=world.a.patient, brand=world.a.brand, session_type=st, start=local(10))
    assert exc.value.code == "consents_required"
    assert not Booking.objects.exists()
    actions.do_sign(world.a.patient, queries.current_version(doc), brand=world.a.brand)
    do_book(patient=world.a.patient, brand=world.a.brand, session_type=st, start=local(10))
    assert Booking.objects.count() == 1


def test_accepting_a_proposal_is_refused_while_a_before_booking_consent_is_unsigned(world):
    from caredoor.core.booking import proposals
    from caredoor.core.booking.models import BookingStatus

    profile, _ = listed_with_hours(world.a)
    st = make_type(profile)
    proposal = proposals.do_propose(
        actor=world.a.specialist,
        brand=world.a.brand,
        patient=world.a.patient,
        session_type=st,
        start=local(11),
        requires_payment=False,
    )
    doc = make_doc(world.a.brand, kind="telehealth", stage="booking")
    with pytest.raises(ValidationError) as exc:
        proposals.do_accept_proposal(proposal, actor=world.a.patient)
    assert exc.value.code == "consents_required"
    proposal.refresh_from_db()
    assert proposal.status == BookingStatus.PROPOSED
    actions.do_sign(world.a.patient, queries.current_version(doc), brand=world.a.brand)
    proposals.do_accept_proposal(proposal, actor=world.a.patient)
    proposal.refresh_from_db()
    assert proposal.status == BookingStatus.CONFIRMED


def test_without_the_consents_module_only_sign_up_documents_are_asked_for(world):
    terms = make_doc(world.b.brand, kind="terms", stage="signup")
    make_doc(world.b.brand, kind="telehealth", stage="booking")
    make_doc(world.b.brand, kind="treatment", stage="session")
    assert [v.document for v in queries.outstanding(world.b.patient, world.b.brand, "session")] == [
        terms
    ]
    assert [r.document for r in queries.consent_status(world.b.patient, world.b.brand)] == [terms]
