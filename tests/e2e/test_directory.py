"""The directory in a real browser: filter by language, remove the chip, compare two."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.directory_helpers import listed_specialist
from tests.e2e.conftest import BrandWorld

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_filter_the_directory_and_compare(brand_world: BrandWorld, live_server, page: Page):
    lakeside = brand_world.sites["lakeside"]
    operator_org = factories.make_org(brand_world.network, "operator", slug="e2e-dir-operator")
    operator = factories.make_user("operator.directory@example.test")
    factories.grant(operator, "operator", network=brand_world.network, organization=operator_org)
    side = SimpleNamespace(
        network=brand_world.network,
        brand=lakeside.brand,
        clinic=lakeside.clinic,
        operator=operator,
    )
    listed_specialist(side, "Amelie Fournier", languages=("fr", "en"), specializations=("Grief",))
    listed_specialist(side, "Bjorn Lund", languages=("sv",), specializations=("Sleep",))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{lakeside.base(live_server)}/specialists/")
    expect(page.locator("#results-h")).to_have_text("2 specialists")
    search = page.get_by_role("search")
    search.get_by_label("French").check()
    search.get_by_role("button", name="Show specialists").click()
    expect(page.locator("#results-h")).to_have_text("1 specialist matches")
    assert "language=fr" in page.url
    expect(page.locator(".sp-card__name")).to_have_text(["Amelie Fournier"])
    expect(search.get_by_label("French")).to_be_checked()

    page.locator(".chip", has_text="French").click()
    expect(page.locator("#results-h")).to_have_text("2 specialists")

    page.get_by_label("Compare Amelie Fournier").check()
    page.get_by_label("Compare Bjorn Lund").check()
    page.get_by_role("button", name="Compare selected").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare specialists")
    table = page.locator("table.compare-table")
    expect(table.get_by_role("columnheader")).to_have_count(2)
    expect(table).to_contain_text("French, English")
    expect(table).to_contain_text("Swedish")
    expect(table.get_by_role("link", name="Book with Bjorn Lund")).to_be_visible()
    assert errors == []
