"""The intake form in Chromium: a conditional question appears only when its condition is
met (intake.js), and submitting sends the patient on to ``next``; no console errors."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from caredoor.core.intake.actions import do_create_questionnaire, do_publish_version, read_answers
from caredoor.core.intake.models import IntakeResponse
from tests.e2e.conftest import SCREENSHOTS, BrandWorld
from tests.e2e.test_portals import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUESTIONS = [
    {
        "key": "before",
        "label": "Have you been in therapy before?",
        "type": "yes_no",
        "required": True,
    },
    {
        "key": "helped",
        "label": "What helped?",
        "type": "text",
        "required": True,
        "show_if": {"question": "before", "equals": "yes"},
    },
]


def test_conditional_question_and_submit(brand_world: BrandWorld, live_server, page: Page):
    site = brand_world.sites["summit"]
    site.brand.modules = [*site.brand.modules, "intake"]
    site.brand.save(update_fields=["modules"])
    q = do_create_questionnaire(brand=site.brand, title="About you", stage="booking", actor=None)
    do_publish_version(q, questions=QUESTIONS, actor=None)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    base = site.base(live_server)
    page.goto(f"{base}/intake/{q.pk}/?next=/sessions/")
    sign_in(page, base, site.people["patient"].email)
    expect(page.get_by_role("heading", level=1)).to_have_text("About you")
    helped = page.get_by_label("What helped?")
    expect(helped).to_be_hidden()  # the script hides it until "Yes"
    expect(page.get_by_text("Answer only if you answered")).to_be_hidden()
    page.get_by_label("Yes").check()
    expect(helped).to_be_visible()
    # With the script, the question's appearing is the condition; the hint is gone.
    expect(page.get_by_text("Answer only if you answered")).to_have_count(0)
    helped.fill("Talking every week")
    page.screenshot(path=SCREENSHOTS / "intake-form.png", full_page=True)
    page.get_by_label("No").check()
    expect(helped).to_be_hidden()
    page.get_by_label("Yes").check()
    page.get_by_role("button", name="Submit").click()
    expect(page).to_have_url(f"{base}/sessions/")
    assert read_answers(IntakeResponse.objects.get())["helped"] == "Talking every week"
    assert problems == []
