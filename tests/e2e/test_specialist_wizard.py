"""A new specialist in a real browser: registers, walks the wizard, uploads a photo and a
document (a disguised script first), submits; once approved and listed on one brand, the
profile appears there and not on the other brand of the network."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from caredoor.core.compliance.models import StoredFile
from caredoor.core.specialists.choices import ProfileStatus, TermKind
from caredoor.core.specialists.models import SpecialistProfile, Term
from tests import factories
from tests.e2e.conftest import PHONE, SCREENSHOTS, BrandWorld
from tests.e2e.test_portals import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EMAIL = "wizard.walker@example.test"


def photo_file() -> dict:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), "#2f6f8f").save(out, "PNG")
    return {"name": "portrait.png", "mimeType": "image/png", "buffer": out.getvalue()}


def fits_the_viewport(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def save_and_continue(page: Page, next_path: str) -> None:
    page.get_by_role("button", name=re.compile(r"^Save and (continue|review)$")).click()
    page.wait_for_url(re.compile(re.escape(next_path) + r"$"))


def test_a_specialist_registers_completes_the_wizard_and_is_listed(
    brand_world: BrandWorld, live_server, page: Page, browser, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    network = brand_world.network
    lakeside, summit = brand_world.sites["lakeside"], brand_world.sites["summit"]
    operator_org = factories.make_org(network, "operator", slug="e2e-operator")
    operator = factories.make_user("operator.e2e@example.test")
    reviewer = factories.grant(operator, "operator", network=network, organization=operator_org)
    for kind, name in [
        (TermKind.SPECIALIZATION, "Anxiety"),
        (TermKind.SPECIALIZATION, "Grief"),
        (TermKind.CATEGORY, "Psychotherapy"),
    ]:
        Term.objects.create(network=network, kind=kind, slug=name.lower(), name=name)
    base = lakeside.base(live_server)

    # Registration from the landing page's "For specialists" card.
    page.goto(f"{base}/")
    page.get_by_role("link", name="Join as a specialist").click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Full name").fill("Dr. Wanda Walker")
    page.get_by_label("Password (required)", exact=True).fill(factories.PASSWORD)
    page.get_by_label("Password (again) (required)").fill(factories.PASSWORD)
    page.get_by_role("button", name="Create account and start").click()
    page.wait_for_url(f"{base}/specialist/onboarding/")
    expect(page.locator("#progress-text")).to_contain_text("0 of 5 steps complete")
    page.get_by_role("link", name="Start with the first step").click()

    # Basics: a bad phone number first.
    expect(page.locator('.steps a[aria-current="step"]')).to_contain_text("Basics")
    page.get_by_label("Professional title").fill("Grief counsellor")
    page.get_by_label("Phone (required)").fill("12345")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#id_phone_error")).to_contain_text("country code")
    page.get_by_label("Phone (required)").fill("+49 30 901820")
    save_and_continue(page, "/specialist/onboarding/practice/")

    page.get_by_label("Video").check()
    page.get_by_label("Yes").check()
    page.get_by_label("Adults", exact=True).check()
    page.get_by_label("English").check()
    page.get_by_label("Psychotherapy").check()
    save_and_continue(page, "/specialist/onboarding/expertise/")

    page.get_by_label("Degree").first.fill("MA Counselling")
    page.get_by_label("Institution").first.fill("University of Leeds")
    page.get_by_label("Year").first.fill("2015")
    page.get_by_label("Grief").check()
    page.get_by_label("Areas of expertise").fill("bereavement, loss")
    save_and_continue(page, "/specialist/onboarding/profile/")

    # The photo: an SVG with a script is refused, a PNG is stored.
    page.get_by_label("About you").fill("I accompany adults through grief.")
    page.get_by_label("Profile photo").set_input_files(
        {
            "name": "avatar.svg",
            "mimeType": "image/svg+xml",
            "buffer": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        }
    )
    files = StoredFile.objects.count()
    page.get_by_role("button", name="Save and continue").click()
    expect(page.locator("#id_photo_error")).to_contain_text("not an accepted type")
    assert StoredFile.objects.count() == files
    page.get_by_label("Profile photo").set_input_files(photo_file())
    save_and_continue(page, "/specialist/onboarding/credentials/")

    # Documents: a shell script renamed .pdf is refused, a PDF is kept.
    page.get_by_label("Title").fill("Licence")
    page.get_by_label("File").set_input_files(
        {"name": "licence.pdf", "mimeType": "application/pdf", "buffer": b"#!/bin/sh\nid\n"}
    )
    page.get_by_role("button", name="Upload document").click()
    expect(page.locator("#id_doc-file_error")).to_contain_text("not an accepted type")
    assert StoredFile.objects.count() == files + 1  # the photo only
    page.get_by_label("Title").fill("Licence")
    page.get_by_label("File").set_input_files(
        {
            "name": "licence.pdf",
            "mimeType": "application/pdf",
            "buffer": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        }
    )
    page.get_by_role("button", name="Upload document").click()
    expect(page.get_by_role("link", name="Licence")).to_be_visible()
    save_and_continue(page, "/specialist/onboarding/submit/")
    page.screenshot(path=SCREENSHOTS / "specialist-wizard-submit.png", full_page=True)
    page.get_by_role("button", name="Submit for review").click()
    page.wait_for_url(f"{base}/specialist/")
    expect(page.locator("main")).to_contain_text("In review")

    # Listed on Lakeside at the specialist's price; not on Summit.
    page.goto(f"{base}/specialist/listings/")
    card = page.locator(f"#brand-{lakeside.brand.pk}")
    card.get_by_label("Session offer").fill("50-minute video session")
    card.get_by_label(re.compile("Price per session")).fill("75")
    card.get_by_role("button", name=re.compile("Ask to be listed")).click()
    expect(page.locator(f"#brand-{lakeside.brand.pk}")).to_contain_text("Waiting for the operator")

    profile = SpecialistProfile.objects.get(user__email=EMAIL)
    assert profile.status == ProfileStatus.SUBMITTED

    # The operator reviews in the organization portal: opens the credential, approves the
    # profile, then approves the listing on Lakeside.
    staff = browser.new_context()
    try:
        review_page = staff.new_page()
        review_page.goto(f"{base}/org/specialists/")
        sign_in(review_page, base, operator.email, totp=True)
        review_page.goto(f"{base}/org/specialists/")
        review_page.get_by_role("link", name="Dr. Wanda Walker").click()
        expect(review_page.locator("main")).to_contain_text("I accompany adults through grief.")
        with review_page.expect_download() as download:
            review_page.get_by_role("link", name="Licence").click()
        assert download.value.suggested_filename.endswith(".pdf")
        review_page.screenshot(path=SCREENSHOTS / "org-specialist-review.png", full_page=True)
        review_page.get_by_role("button", name="Approve", exact=True).click()
        expect(review_page.locator(".messages")).to_be_visible()
        review_page.goto(f"{base}/org/listings/")
        review_page.get_by_role("button", name=re.compile(r"^Approve: Dr. Wanda Walker")).click()
        expect(review_page.locator(".messages")).to_be_visible()
    finally:
        staff.close()
    profile.refresh_from_db()
    assert profile.status == ProfileStatus.APPROVED
    assert profile.listings.get().status == "approved"
    assert reviewer.role == "operator"

    visitor = browser.new_context(viewport=PHONE)
    try:
        patient_page = visitor.new_page()
        patient_page.goto(f"{base}/specialists/")
        patient_page.get_by_role("link", name="Dr. Wanda Walker", exact=True).click()
        expect(patient_page.locator("h1")).to_have_text("Dr. Wanda Walker")
        expect(patient_page.locator(".sp-price")).to_contain_text("75.00 EUR")
        patient_page.wait_for_function(
            "() => document.querySelector('img.sp-photo')?.complete === true"
        )
        assert patient_page.locator("img.sp-photo").evaluate("img => img.naturalWidth") == 300
        assert fits_the_viewport(patient_page)
        patient_page.screenshot(path=SCREENSHOTS / "specialist-public-phone.png", full_page=True)
        response = patient_page.goto(f"{summit.base(live_server)}/specialists/{profile.pk}/")
        assert response is not None and response.status == 404
        patient_page.goto(f"{summit.base(live_server)}/specialists/")
        expect(patient_page.locator("main")).not_to_contain_text("Wanda Walker")
    finally:
        visitor.close()
