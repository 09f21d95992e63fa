"""Messages arrive live between two browsers (Chromium, two contexts), and the thread page
keeps working by polling when WebSockets are blocked.

The live server is the ASGI application under uvicorn (``tests/e2e/conftest.py``), so
the pages' sockets (``live.js``, ``messages.js``) talk to the real consumer.
Screenshots of the thread page, both portals, desktop and 390 px, go to /tmp/shots/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, expect

from caredoor.core.care.actions import do_allocate
from caredoor.core.care.models import Source
from caredoor.core.messaging import actions
from caredoor.core.messaging.models import Message, Side
from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, BrandWorld
from tests.e2e.test_specialist_bookings import listed_specialist

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")  # noqa: S108 -- where reviewers look for these screenshots
LIVE = "Connected: new messages appear here as they arrive."
POLLING = "checking for new messages every few seconds"
NO_WEBSOCKET = "Object.defineProperty(window, 'WebSocket', {value: undefined});"


@pytest.fixture
def scene(brand_world: BrandWorld) -> dict[str, Any]:
    site, profile, _session_type = listed_specialist(brand_world)
    patient, specialist = site.people["patient"], site.people["specialist"]
    do_allocate(brand=site.brand, patient=patient, profile=profile, source=Source.DIRECTORY)
    thread = actions.care_thread(site.brand, patient, profile)
    actions.do_post(
        thread, sender=specialist, side=Side.SPECIALIST, body="Welcome. Write to me here."
    )
    return {"site": site, "thread": thread, "patient": patient, "specialist": specialist}


def signed_in(browser: Browser, user: Any, site: Any, live_server: Any, **options: Any):  # type: ignore[no-untyped-def]
    client = Client(HTTP_HOST=site.host)
    client.force_login(user)
    context = browser.new_context(locale="en-GB", viewport=options.pop("viewport", DESKTOP))
    context.set_default_timeout(15_000)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": site.base(live_server),
            }
        ]
    )
    if options.get("no_websocket"):
        context.add_init_script(NO_WEBSOCKET)
    return context


def console_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def thread_url(scene: dict[str, Any], live_server: Any, who: str) -> str:
    prefix = "" if who == "patient" else "/specialist"
    return f"{scene['site'].base(live_server)}{prefix}/messages/{scene['thread'].pk}/"


def open_thread(context: BrowserContext, scene: dict[str, Any], live_server: Any, who: str):  # type: ignore[no-untyped-def]
    page = context.new_page()
    errors = console_errors(page)
    page.goto(thread_url(scene, live_server, who))
    return page, errors


def lines(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#messages > li.message")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / name, full_page=True)
    page.screenshot(path=SCREENSHOTS / name, full_page=True)


def test_two_browsers_exchange_messages_live(
    scene: dict[str, Any], live_server: Any, browser: Browser
) -> None:
    site = scene["site"]
    patient_ctx = signed_in(browser, scene["patient"], site, live_server)
    specialist_ctx = signed_in(browser, scene["specialist"], site, live_server)
    patient, patient_errors = open_thread(patient_ctx, scene, live_server, "patient")
    specialist, specialist_errors = open_thread(specialist_ctx, scene, live_server, "specialist")
    # The specialist also has another page open, with the Messages badge in its navigation.
    dashboard = specialist_ctx.new_page()
    dashboard.goto(f"{site.base(live_server)}/specialist/")
    badge = dashboard.locator("[data-unread-messages]")
    expect(badge).to_be_hidden()
    for page in (patient, specialist):
        expect(page.locator("#live-status")).to_have_text(LIVE)

    # Typing shows on the other side, then the message arrives there without a reload.
    box = patient.get_by_label("Your message", exact=True)
    box.press_sequentially("Hello doctor")
    expect(specialist.locator("#typing")).to_have_text(
        f"{scene['patient'].display_name} is typing…"
    )
    box.press("Shift+Enter")
    box.press_sequentially("two lines.")
    box.press("Enter")
    mine = lines(patient).last
    expect(mine).to_contain_text("two lines.")
    expect(box).to_have_value("")
    arrived = lines(specialist).last
    expect(arrived).to_contain_text("Hello doctor")
    expect(arrived).to_have_attribute("data-mine", "0")
    expect(specialist.locator("#typing")).to_be_hidden()
    # The specialist's other page counts it; the open thread reads it, and the patient
    # sees "Read" on their message.
    expect(badge).to_have_text("1")
    expect(badge).to_be_visible()
    expect(mine.locator("[data-slot=status]")).to_have_text("Read")
    stored = Message.objects.filter(thread=scene["thread"], sender=scene["patient"])
    assert stored.count() == 1 and stored.get().client_token

    # The answer travels back.
    answer = specialist.get_by_label("Your message", exact=True)
    answer.fill("Thank you, see you on Monday.")
    specialist.get_by_role("button", name="Send", exact=True).click()
    expect(lines(patient).last).to_contain_text("see you on Monday")
    expect(lines(specialist).last.locator("[data-slot=status]")).to_have_text("Read")
    # An empty message is refused beside the field and nothing is stored.
    answer.fill("   ")
    answer.press("Enter")
    errors = specialist.locator("#composer-body-errors")
    expect(errors).to_have_text("Write a message first.")
    expect(answer).to_have_attribute("aria-invalid", "true")
    assert Message.objects.filter(thread=scene["thread"]).count() == 3

    shot(patient, "messages-live-patient-desktop.png")
    shot(specialist, "messages-live-specialist-desktop.png")
    assert patient_errors == [] and specialist_errors == [], (patient_errors, specialist_errors)
    patient_ctx.close()
    specialist_ctx.close()


def test_a_dropped_socket_resumes_without_gaps_or_duplicates(
    scene: dict[str, Any], live_server: Any, browser: Browser
) -> None:
    context = signed_in(browser, scene["patient"], scene["site"], live_server)
    # The page's socket goes through Playwright, so the test can drop it.
    sockets: list[Any] = []
    hold = {"on": False}

    def route(ws: Any) -> None:
        if hold["on"]:
            ws.close(code=4000)  # the network is still down: this attempt fails
            return
        ws.connect_to_server()
        sockets.append(ws)

    context.route_web_socket("**/ws/live/", route)
    page, errors = open_thread(context, scene, live_server, "patient")
    expect(page.locator("#live-status")).to_have_text(LIVE)
    hold["on"] = True
    sockets[-1].close(code=4000)
    expect(page.locator("#live-status")).to_have_text("Connection lost. Trying again…")
    # Three messages meanwhile. (Posted from the test's thread, they are not pushed at
    # all: the page can only get them by resuming.)
    for n in range(3):
        actions.do_post(
            scene["thread"], sender=scene["specialist"], side=Side.SPECIALIST, body=f"missed {n}"
        )
    hold["on"] = False
    expect(page.locator("#live-status")).to_have_text(LIVE, timeout=20_000)
    expect(lines(page)).to_have_count(4)
    texts = [t.strip() for t in lines(page).locator("[data-slot=body]").all_inner_texts()]
    assert texts[1:] == ["missed 0", "missed 1", "missed 2"], texts
    ids = [int(i) for i in lines(page).evaluate_all("els => els.map(e => e.dataset.id)")]
    assert ids == sorted(set(ids)) and len(ids) == 4
    # Once more: the live connection delivers what the browser sends, once.
    box = page.get_by_label("Your message", exact=True)
    box.fill("Back online.")
    box.press("Enter")
    expect(lines(page)).to_have_count(5)
    expect(lines(page).last).to_contain_text("Back online.")
    assert errors == [], errors
    context.close()


def test_without_websockets_the_page_polls(
    scene: dict[str, Any], live_server: Any, browser: Browser
) -> None:
    site = scene["site"]
    patient_ctx = signed_in(browser, scene["patient"], site, live_server, no_websocket=True)
    specialist_ctx = signed_in(browser, scene["specialist"], site, live_server)
    patient, patient_errors = open_thread(patient_ctx, scene, live_server, "patient")
    specialist, _ = open_thread(specialist_ctx, scene, live_server, "specialist")
    expect(patient.locator("#live-status")).to_contain_text(POLLING)
    expect(specialist.locator("#live-status")).to_have_text(LIVE)

    box = patient.get_by_label("Your message", exact=True)
    box.fill("Sent without a socket.")
    box.press("Enter")
    expect(lines(patient).last).to_contain_text("Sent without a socket.")
    expect(box).to_have_value("")
    expect(lines(specialist).last).to_contain_text("Sent without a socket.")

    specialist.get_by_label("Your message", exact=True).fill("Received by polling.")
    specialist.get_by_role("button", name="Send", exact=True).click()
    expect(lines(patient).last).to_contain_text("Received by polling.", timeout=10_000)
    # The polling page marks what it saw as read, so the specialist sees "Read".
    expect(lines(specialist).last.locator("[data-slot=status]")).to_have_text(
        "Read", timeout=10_000
    )
    # Edits made elsewhere reach the polling page too.
    last = Message.objects.filter(sender=scene["specialist"]).latest("pk")
    actions.do_edit(last, by=scene["specialist"], body="Received by polling, edited.")
    expect(lines(patient).last).to_contain_text("edited.", timeout=10_000)
    assert patient_errors == [], patient_errors
    shot(patient, "messages-polling-patient-desktop.png")
    patient_ctx.close()
    specialist_ctx.close()


@pytest.mark.parametrize("who", ["patient", "specialist"])
def test_thread_page_screenshots(
    scene: dict[str, Any], live_server: Any, browser: Browser, who: str
) -> None:
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = signed_in(browser, scene[who], scene["site"], live_server, viewport=viewport)
        page, errors = open_thread(context, scene, live_server, who)
        expect(page.locator("#live-status")).to_have_text(LIVE)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{who} {label}: {width}px wide"
        shot(page, f"messages-live-thread-{who}-{label}.png")
        assert errors == [], errors
        context.close()
