"""The conversation pages in Chromium, for the patient and the specialist, on a desktop and
a 390 px wide phone: the thread with its sidebar lays out without sideways scrolling (long
words and addresses wrap), the composer works without the live script, and an image
attachment opens. Screenshots go to /tmp/shots/ (and the usual screenshot folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from caredoor.core.booking.actions import do_book
from caredoor.core.consents.actions import do_create_document
from caredoor.core.messaging import actions
from caredoor.core.messaging.models import Side, Thread
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, BrandWorld
from tests.e2e.test_specialist_bookings import listed_specialist
from tests.messaging_helpers import png_upload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")  # noqa: S108 -- where reviewers look for these screenshots
LONG_URL = "https://example.org/" + "a-very-long-path-segment/" * 8 + "?q=" + "x" * 60
LONG_WORD = "Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichen" * 2


def _conversation(brand_world: BrandWorld) -> dict[str, Any]:
    site, profile, session_type = listed_specialist(brand_world)
    brand = site.brand
    brand.modules = [*brand.modules, "consents"]
    brand.save(update_fields=["modules"])
    patient = site.people["patient"]
    patient.time_zone = "America/New_York"
    patient.save(update_fields=["time_zone"])
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    berlin = ZoneInfo("Europe/Berlin")
    day = timezone.now().astimezone(berlin).date() + timedelta(days=3)
    do_book(
        patient=patient,
        brand=brand,
        session_type=session_type,
        start=datetime.combine(day, time(10), berlin),
    )
    do_create_document(
        kind="telehealth",
        title="Video session consent",
        stage="session",
        body="I agree to sessions by video.",
        actor=None,
        brand=brand,
    )
    thread = actions.care_thread(brand, patient, profile)
    specialist = site.people["specialist"]

    def say(user: Any, side: str, body: str, **extra: Any) -> Any:
        return actions.do_post(thread, sender=user, side=side, body=body, **extra)

    say(patient, Side.PATIENT, "Hello, here is the scan from my GP.", upload=png_upload("scan.png"))
    say(specialist, Side.SPECIALIST, f"Thank you. Please read this before we meet: {LONG_URL}")
    edited = say(patient, Side.PATIENT, "I will read it tonihgt.")
    actions.do_edit(edited, by=patient, body="I will read it tonight.")
    deleted = say(patient, Side.PATIENT, "Sorry, wrong conversation.")
    actions.do_delete(deleted, by=patient)
    say(specialist, Side.SPECIALIST, f"A long word, for the layout: {LONG_WORD}")
    return {"site": site, "thread": thread, "patient": patient, "specialist": specialist}


def _signed_in(browser: Browser, viewport: dict[str, int], user: Any, base: str, host: str):  # type: ignore[no-untyped-def]
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    context = browser.new_context(viewport=viewport, locale="en-GB")
    context.set_default_timeout(15_000)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base,
            }
        ]
    )
    return context


def _watch(page: Page) -> list[str]:
    """Content-security-policy violations, and this page's own files that fail to load.
    (The live script and its socket are checked by their own tests.)"""
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and ("messages.css" in r.url or "composer.js" in r.url)
            else None
        ),
    )
    return problems


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    inner = page.evaluate("() => window.innerWidth")
    assert width <= inner, f"page is {width}px wide in a {inner}px window"


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / name, full_page=True)
    page.screenshot(path=SCREENSHOTS / name, full_page=True)


@pytest.mark.parametrize("who", ["patient", "specialist"])
def test_the_thread_page_with_its_sidebar_on_desktop_and_phone(
    brand_world: BrandWorld, live_server, browser: Browser, who: str
):
    scene = _conversation(brand_world)
    site, thread = scene["site"], scene["thread"]
    base = site.base(live_server)
    prefix = "" if who == "patient" else "/specialist"
    url = f"{base}{prefix}/messages/{thread.pk}/"
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = _signed_in(browser, viewport, scene[who], base, site.host)
        page = context.new_page()
        problems = _watch(page)
        page.goto(url)
        expect(page.locator("#thread")).to_be_visible()
        expect(page.locator("#messages > li.message")).to_have_count(6)  # 5 lines + 1 event
        expect(page.locator(".thread-sidebar")).to_contain_text("Video session consent")
        expect(page.locator(".message__edited:not([hidden])")).to_be_visible()
        expect(page.locator(".message__deleted:not([hidden])")).to_contain_text(
            "Message deleted by"
        )
        if who == "specialist":
            expect(page.locator(".thread-sidebar")).to_contain_text("America/New_York")
        else:
            expect(page.locator(".thread-sidebar")).to_contain_text("Psychotherapist")
        _no_sideways_scroll(page)
        assert problems == [], problems
        _shot(page, f"messages-thread-{who}-{label}.png")
        if label == "desktop":
            # Conversation and sidebar side by side, the sidebar to the right.
            thread_box = page.locator("#thread").bounding_box()
            aside_box = page.locator(".thread-sidebar").bounding_box()
            assert thread_box and aside_box and aside_box["x"] > thread_box["x"]
            page.goto(f"{base}{prefix}/messages/")
            expect(page.locator(".thread-row")).to_have_count(1)
            _shot(page, f"messages-list-{who}-{label}.png")
        context.close()


def test_sending_without_the_live_script_and_opening_an_image(
    brand_world: BrandWorld, live_server, browser: Browser
):
    scene = _conversation(brand_world)
    site, thread = scene["site"], scene["thread"]
    base = site.base(live_server)
    context = _signed_in(browser, DESKTOP, scene["patient"], base, site.host)
    context.route("**/messages.js", lambda route: route.abort())  # no live script at all
    page = context.new_page()
    page.goto(f"{base}/messages/{thread.pk}/")
    counter = page.locator("#composer-count")
    expect(counter).to_have_text("0 of 4000 characters")
    page.get_by_label("Your message", exact=True).fill("Plain form, no script.")
    expect(counter).to_have_text("22 of 4000 characters")
    page.get_by_role("button", name="Send", exact=True).click()
    page.wait_for_url(f"{base}/messages/{thread.pk}/#m-*")
    expect(page.locator("#messages > li.message").last).to_contain_text("Plain form, no script.")
    expect(page.locator("#messages > li.message").last).to_contain_text("Sent")
    # An empty message is refused beside the field, nothing else changes.
    count = Thread.objects.get(pk=thread.pk).messages.count()
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#composer-body-errors")).to_contain_text("Write a message first.")
    assert Thread.objects.get(pk=thread.pk).messages.count() == count
    _shot(page, "messages-thread-patient-error.png")
    link = page.locator(".message__attachment a").first
    href = link.get_attribute("href")
    status, kind, caching = page.evaluate(
        """async (url) => {
            const r = await fetch(url);
            return [r.status, r.headers.get("content-type"), r.headers.get("cache-control")];
        }""",
        href,
    )
    assert (status, kind) == (200, "image/png") and "no-store" in caching
    context.close()
