"""The whole patient journey in a real browser (issue 5).

1. Marketplace brand (open directory): a visitor goes from the landing page to a confirmed
   booking without help: sign-up with the brand's documents, the home saying what's next,
   the directory filtered by language, a chosen time, the intake (with a conditional
   question) and the telehealth consent on the way, the confirmation, the session on the
   home; after the session, the feedback prompt, answered, then the follow-up prompt.
2. Fixed-price brand: the home sends the patient to guided matching, the shortlist ranks
   with reasons, the chosen specialist is booked at the brand's price, and the care
   relationship records that it came from matching.

Screenshots of the main steps (and the join page) go to test-artifacts/screenshots/journey-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from caredoor.core.accounts.models import Membership, User
from caredoor.core.booking.actions import do_complete
from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.care.models import CareRelationship
from caredoor.core.consents.actions import do_publish_version
from caredoor.core.consents.models import ConsentSignature
from caredoor.core.feedback.models import FeedbackResponse
from caredoor.core.intake.actions import read_answers
from caredoor.core.intake.models import IntakeResponse
from caredoor.core.specialists.actions import do_register_specialist
from caredoor.portals.patient.booking_display import slot_value
from tests import factories
from tests.e2e.conftest import DESKTOP, BrandWorld
from tests.e2e.journey_fixtures import fixed_price, marketplace, watch
from tests.e2e.test_portals import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EMAIL = "new.patient@example.test"
PASSWORD = "a-long-journey-2026"


@pytest.fixture
def berlin(browser: Browser) -> Iterator[BrowserContext]:
    """A desktop browser in Berlin, the brand's zone, so sign-up keeps Berlin time."""
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="Europe/Berlin")
    context.set_default_timeout(15_000)
    context.set_default_navigation_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def test_a_new_patient_goes_from_the_landing_page_to_a_booking_and_gives_feedback(
    brand_world: BrandWorld, live_server, berlin: BrowserContext, screenshots: Path
) -> None:
    world = marketplace(brand_world)
    site = world.site
    base = site.base(live_server)
    page = berlin.new_page()
    problems = watch(page)

    # --- sign up from the landing page, accepting the brand's two documents ---------------
    page.goto(f"{base}/")
    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    page.locator("input[name=name]").fill("Nora Neumann")
    page.locator("input[name=email]").fill(EMAIL)
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    expect(page.locator("main select[name=time_zone]")).to_have_value("Europe/Berlin")
    page.get_by_label(re.compile("Terms of use")).check()
    page.get_by_label(re.compile("Privacy notice")).check()
    page.get_by_role("button", name="Create my account").click()
    # The brand offers passwords: the address is confirmed by the emailed link first.
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    [message] = [m for m in mail.outbox if EMAIL in m.to]
    link = re.search(r"http://\S+/accounts/confirm-email/\S+/", message.body)
    assert link, message.body
    page.goto(link.group(0))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/")
    patient = User.objects.get(email=EMAIL)
    assert Membership.objects.get(user=patient).brand == site.brand
    assert ConsentSignature.objects.filter(user=patient, brand=site.brand).count() == 2

    # --- the home says what's next: the telehealth consent and the intake are due before
    # booking, and finding a specialist comes after them.
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Nora Neumann")
    card = page.locator(".next-step")
    expect(card.locator(".next-step-title")).to_have_text("Sign: Telehealth consent")
    expect(card.get_by_role("link", name="About you")).to_be_visible()
    expect(card.get_by_role("link", name="Find a specialist who fits you")).to_be_visible()
    expect(page.locator("section", has_text="Upcoming sessions")).to_contain_text(
        "You have no upcoming sessions."
    )
    page.screenshot(path=screenshots / "journey-1-home.png", full_page=True)

    # --- the directory, filtered by a language: only the French speaker is left --------
    card.get_by_role("link", name="Find a specialist who fits you").click()
    expect(page.locator("#results-h")).to_have_text("2 specialists")
    search = page.get_by_role("search")
    search.get_by_label("French").check()
    search.get_by_role("button", name="Show specialists").click()
    expect(page.locator("#results-h")).to_have_text("1 specialist matches")
    expect(page.locator(".sp-card__name")).to_have_text(["Amelie Fournier"])
    page.screenshot(path=screenshots / "journey-2-directory-french.png", full_page=True)

    # --- her profile, then a time that is not the first one offered -------------------
    page.locator(".sp-card__name").get_by_role("link", name="Amelie Fournier").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Amelie Fournier")
    page.get_by_role("link", name="See free times").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a session with Amelie Fournier")
    # Next week is wholly ahead, so every day there has her hours, whatever today is.
    page.get_by_role("link", name="Next week").click()
    expect(page.locator(".slot-day:not(.slot-day--empty)")).to_have_count(7)
    day = page.locator(".slot-day").nth(1)
    chosen = day.locator("button.slot").nth(2)
    chosen_start = chosen.get_attribute("value")
    assert chosen_start
    chosen.click()

    # --- the booking gate: whatever is due before booking first (consents, then intake),
    # each sending the patient on to the next and finally back to this time.
    page.wait_for_url(re.compile(r"/consents/sign/\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Telehealth consent")
    expect(page.locator(".eyebrow")).to_have_text("Document 3 of 3")
    expect(page.locator("#sign-progress")).to_have_text("2 of 3 signed")
    page.screenshot(path=screenshots / "journey-3-consent.png", full_page=True)
    page.get_by_label("I have read and agree to this document.").check()
    page.get_by_role("button", name="Sign", exact=True).click()

    page.wait_for_url(re.compile(rf"/intake/{world.questionnaire.pk}/\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text("About you")
    helped = page.get_by_label("What helped you then?")
    expect(helped).to_be_hidden()
    page.get_by_label("Anxiety").check()
    page.get_by_label("Yes").check()
    expect(helped).to_be_visible()  # the conditional question appears with its condition
    helped.fill("Breathing exercises and weekly talks")
    page.screenshot(path=screenshots / "journey-4-intake.png", full_page=True)
    page.get_by_role("button", name="Submit").click()

    # --- back at the chosen time: confirm -----------------------------------------------
    page.wait_for_url(re.compile(rf"/specialists/{world.french.pk}/book/confirm/\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your session")
    summary = page.locator(".summary-list")
    expect(summary).to_contain_text("Amelie Fournier")
    expect(summary).to_contain_text("90.00 EUR")
    page.screenshot(path=screenshots / "journey-5-confirm.png", full_page=True)
    page.get_by_role("button", name="Book this session").click()
    expect(page.locator(".messages")).to_contain_text("Your session is booked.")
    booking = Booking.objects.get(patient=patient)
    assert (booking.profile_id, booking.status) == (world.french.pk, BookingStatus.CONFIRMED)
    assert slot_value(booking.start) == chosen_start
    answers = read_answers(IntakeResponse.objects.get(user=patient))
    assert answers == {
        "topic": "Anxiety",
        "before": "yes",
        "helped": "Breathing exercises and weekly talks",
    }
    rel = CareRelationship.objects.get(patient=patient, brand=site.brand)
    assert (rel.profile_id, rel.source) == (world.french.pk, "directory")

    # --- the home shows the session, and nothing is due before it -----------------------
    page.locator(".site-nav").get_by_role("link", name="Home").click()
    upcoming = page.locator("section", has=page.get_by_role("heading", name="Upcoming sessions"))
    expect(upcoming).to_contain_text("Amelie Fournier")
    expect(upcoming).to_contain_text("Session")
    expect(page.locator(".next-step")).to_contain_text("Nothing needs your attention right now.")
    page.screenshot(path=screenshots / "journey-6-home-with-session.png", full_page=True)

    # Her answers are for her specialist only: not another specialist, not an affiliate.
    _answers_are_private(site, booking, rel, secret="Breathing exercises")

    # --- a session with a missing required consent cannot start --------------------------
    # The operator publishes a new telehealth version: her signature no longer counts, the
    # home asks for it, and the join page sends her to sign it, then back.
    do_publish_version(
        world.documents["telehealth"],
        body="Sessions happen by video, recorded only with your consent.",
        summary="Recording needs a separate consent.",
        actor=world.operator,
    )
    page.reload()
    expect(page.locator(".next-step .next-step-title")).to_have_text("Sign: Telehealth consent")
    page.goto(f"{base}/sessions/{booking.pk}/join/")
    page.wait_for_url(re.compile(r"/consents/sign/\?"))
    expect(page.get_by_role("note")).to_contain_text("Recording needs a separate consent.")
    page.get_by_label("I have read and agree to this document.").check()
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url(f"{base}/sessions/{booking.pk}/join/")
    expect(page.locator(".status-banner")).to_contain_text("You are ready")
    expect(page.locator("#join-title ~ p").nth(1)).to_contain_text("10 minutes before")
    page.screenshot(path=screenshots / "journey-6b-join.png", full_page=True)
    page.goto(f"{base}/")

    # --- after the session ---------------------------------------------------------------
    # The session cannot happen in a test: its time is moved into the past (the slot
    # engine and do_book refuse past times, and do_complete refuses before the start),
    # then the specialist records it as completed through the real action.
    now = timezone.now()
    length = booking.end - booking.start
    start = now - timedelta(hours=3)
    Booking.objects.filter(pk=booking.pk).update(
        start=start, end=start + length, blocked_start=start, blocked_end=start + length
    )
    specialist = world.french.user
    do_complete(Booking.objects.get(pk=booking.pk), actor=specialist)

    page.reload()
    card = page.locator(".next-step")
    expect(card.locator(".next-step-title")).to_have_text(
        "How was your session with Amelie Fournier?"
    )
    card.get_by_role("link", name="Do this now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("How was your session?")
    page.get_by_label("Very satisfied").check()
    page.get_by_label("A little better").check()
    page.locator("fieldset", has_text="How likely are you to recommend").get_by_label(
        "9", exact=True
    ).check()
    page.screenshot(path=screenshots / "journey-7-feedback.png", full_page=True)
    page.get_by_role("button", name="Send feedback").click()
    page.wait_for_url(f"{base}/")
    stored = FeedbackResponse.objects.get(booking=booking)
    assert (stored.satisfaction, stored.progress, stored.nps, stored.skipped) == (5, 4, 9, False)
    card = page.locator(".next-step")
    expect(card).not_to_contain_text("How was your session")
    expect(card.locator(".next-step-title")).to_have_text(
        "Book a follow-up session with Amelie Fournier"
    )
    page.screenshot(path=screenshots / "journey-8-home-follow-up.png", full_page=True)
    assert problems == []


def _answers_are_private(site, booking, rel, *, secret: str) -> None:  # type: ignore[no-untyped-def]
    """The allocated specialist reads the intake; another specialist of the brand (404) and
    the brand's affiliate (refused by the portal) do not."""
    url = f"/specialist/intake/{rel.pk}/"

    def get(user):  # type: ignore[no-untyped-def]
        client = Client(HTTP_HOST=site.host)
        client.force_login(user)
        return client.get(url)

    own = get(booking.profile.user)
    assert own.status_code == 200 and secret in own.content.decode()
    other = factories.make_user("other.journey.specialist@example.test")
    factories.grant(other, "specialist", network=site.brand.network)
    do_register_specialist(other, site.brand)
    for user, status in ((other, 404), (site.people["affiliate"], 403)):
        response = get(user)
        assert response.status_code == status
        assert secret not in response.content.decode()


def test_a_patient_of_a_fixed_price_program_finds_a_specialist_through_matching(
    brand_world: BrandWorld, live_server, page: Page, screenshots: Path
) -> None:
    world = fixed_price(brand_world, 6500)
    site = world.site
    dora, eli = world.specialists["dora"], world.specialists["eli"]
    patient = site.people["patient"]
    base = site.base(live_server)
    problems = watch(page)

    # Sign-up is covered above: this patient has an account and signs in.
    page.goto(f"{base}/accounts/login/")
    sign_in(page, base, patient.email)
    page.wait_for_url(f"{base}/")
    card = page.locator(".next-step")
    expect(card.locator(".next-step-title")).to_have_text(
        "Find your specialist: answer a few short questions"
    )
    page.screenshot(path=screenshots / "journey-fixed-1-home.png", full_page=True)
    card.get_by_role("link", name="Do this now").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Find my specialist")
    languages = page.locator("fieldset", has_text="Which languages")
    languages.get_by_label("English").check()
    page.locator("fieldset", has_text="What would you like help with?").get_by_label(
        "Anxiety"
    ).check()
    page.get_by_label("Any way is fine").check()
    page.screenshot(path=screenshots / "journey-fixed-2-questions.png", full_page=True)
    page.get_by_role("button", name="Show my matches").click()

    # Dora covers the topic and speaks English; Eli speaks English only; Greta no English.
    expect(page.get_by_role("heading", level=1)).to_have_text("Your matches")
    shortlist = page.locator("ol.sp-grid > li")
    expect(shortlist.locator(".sp-card__name")).to_have_text(["Dora Brandt", "Eli Morgan"])
    first = shortlist.nth(0)
    expect(first.locator(".tag-list", has_text="Speaks English")).to_contain_text(
        "Works with Anxiety"
    )
    expect(first).to_contain_text("65.00 EUR")
    expect(shortlist.nth(1)).not_to_contain_text("Works with Anxiety")
    _stacked_and_whole(page, shortlist)
    page.screenshot(path=screenshots / "journey-fixed-3-shortlist.png", full_page=True)
    first.get_by_role("button", name="Choose Dora Brandt and book").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Book a session with Dora Brandt")
    page.get_by_role("button", name="Choose this time").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your session")
    expect(page.locator(".summary-list")).to_contain_text("65.00 EUR")
    page.screenshot(path=screenshots / "journey-fixed-4-confirm.png", full_page=True)
    page.get_by_role("button", name="Book this session").click()
    expect(page.locator(".messages")).to_contain_text("Your session is booked.")

    page.locator(".site-nav").get_by_role("link", name="Home").click()
    upcoming = page.locator("section", has=page.get_by_role("heading", name="Upcoming sessions"))
    expect(upcoming).to_contain_text("Dora Brandt")
    expect(page.locator(".next-step")).not_to_contain_text("Find your specialist")
    page.screenshot(path=screenshots / "journey-fixed-5-home.png", full_page=True)

    booking = Booking.objects.get(patient=patient)
    assert (booking.brand, booking.profile_id, booking.status) == (
        site.brand,
        dora.pk,
        BookingStatus.CONFIRMED,
    )
    [rel] = CareRelationship.objects.filter(patient=patient, brand=site.brand)
    assert (rel.profile_id, rel.source, rel.ended_at) == (dora.pk, "matching", None)
    assert not CareRelationship.objects.filter(profile=eli).exists()
    assert problems == []


def _stacked_and_whole(page: Page, items) -> None:  # type: ignore[no-untyped-def]
    """Each shortlist entry shows its card above its reasons, and the name is not cut off
    (they once sat side by side in one narrow grid cell, clipping the names)."""
    for i in range(items.count()):
        item = items.nth(i)
        card = item.locator(".sp-card").bounding_box()
        reasons = item.get_by_label("Why we suggest them").bounding_box()
        assert card and reasons
        assert reasons["y"] >= card["y"] + card["height"] - 1, f"entry {i}: reasons beside card"
        name = item.locator(".sp-card__name a")
        clipped = name.evaluate(
            "a => a.getBoundingClientRect().right > a.closest('li').getBoundingClientRect().right"
        )
        assert not clipped, f"entry {i}: the name overflows"
