"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

No pytest-playwright plugin: one headless Chromium for the package, one fresh context (cookies,
viewport) per test. Brand hosts (``*.test``, ``*.localhost``) resolve to 127.0.0.1 through
Chromium's host resolver rules, so every brand is reached on the live server's port.
"""

from __future__ import annotations

import gc
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from asgiref.sync import SyncToAsync
from django.core.cache import cache
from django.db import connections
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from caredoor.core.accounts.models import User
from caredoor.core.brands.models import Brand, Network
from caredoor.core.organizations.models import Organization
from tests import factories

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP *.test 127.0.0.1",
    # Video pages: a synthetic camera (a moving test pattern) and microphone (a beep), and
    # permission prompts answered "allow"; a test that needs "deny" overrides
    # getUserMedia in the page.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# Two brands of one network, with colours unlike the stylesheet's fallback (#1f4e79), so a
# header in the brand colour proves the brand's theme.css was applied.
SITES = {
    "lakeside": {"host": "lakeside.test", "name": "Lakeside Care", "primary": "#9d174d"},
    "summit": {"host": "summit.localhost", "name": "Summit Health", "primary": "#0e7490"},
}
PORTAL_ROLES = ["patient", "specialist", "org_admin", "affiliate"]


@dataclass
class Site:
    key: str
    host: str
    brand: Brand
    clinic: Organization
    people: dict[str, User] = field(default_factory=dict)

    def base(self, live_server) -> str:  # type: ignore[no-untyped-def]
        """``http://<brand host>:<live server port>``, without a trailing slash."""
        return f"http://{self.host}:{port_of(live_server)}"


@dataclass
class BrandWorld:
    network: Network
    sites: dict[str, Site]


class AsgiLiveServer:
    """pytest-django's ``live_server``, served like production: uvicorn running the ASGI
    application (HTTP and WebSockets) in a thread of the test process, on the test
    database. Every signed-in portal page opens the live socket (``live.js``); the WSGI
    live server answered it with a 404, which the browser reports as a console error.
    Static files come from WhiteNoise's finders, as in development."""

    def __init__(self) -> None:
        import uvicorn
        from channels.layers import channel_layers
        from django.test.utils import modify_settings

        from caredoor.config.asgi import application

        channel_layers.backends.clear()  # a layer made on another test's event loop
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            application, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="asgi-live-server")
        self.thread.daemon = True
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the ASGI live server did not start")
            time.sleep(0.05)
        # Enabled and disabled around each test by pytest-django's _live_server_helper.
        self._live_server_modified_settings = modify_settings(ALLOWED_HOSTS={"append": "localhost"})

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout=5)
        # The consumers' database calls ran on asgiref's one thread for thread-sensitive
        # code, which outlives the server and keeps its connection (CONN_MAX_AGE): close it
        # there, or PostgreSQL refuses to drop the test database at the end of the session.
        SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)
        # Connections of the server loop's pool threads (live_db on PostgreSQL) are closed
        # when their thread-local storage is collected.
        gc.collect()


@pytest.fixture(scope="session")
def live_server() -> Iterator[AsgiLiveServer]:
    server = AsgiLiveServer()
    yield server
    server.stop()


def port_of(live_server) -> int:  # type: ignore[no-untyped-def]
    match = re.search(r":(\d+)$", live_server.url)
    assert match, live_server.url
    return int(match.group(1))


def email_for(role: str, site_key: str) -> str:
    return f"{role.replace('_', '.')}.{site_key}@example.test"


@pytest.fixture
def brand_world(transactional_db) -> BrandWorld:  # type: ignore[no-untyped-def]
    """Two brands on one network, each with its own clinic and its portal personas."""
    cache.clear()
    network = factories.make_network("e2e-network")
    sites: dict[str, Site] = {}
    for key, spec in SITES.items():
        brand = factories.make_brand(
            network,
            spec["host"],
            slug=key,
            name=spec["name"],
            primary_color=spec["primary"],
            accent_color="#374151",
            tagline=f"Care from {spec['name']}.",
        )
        clinic = factories.make_org(network, "clinic", [brand], slug=f"{key}-clinic")
        site = Site(key=key, host=spec["host"], brand=brand, clinic=clinic)
        for role in PORTAL_ROLES:
            user = factories.make_user(
                email_for(role, key), name=f"{role.replace('_', ' ').title()} {spec['name']}"
            )
            factories.grant(user, role, network=network, brand=brand, organization=clinic)
            site.people[role] = user
        sites[key] = site
    return BrandWorld(network=network, sites=sites)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for all browser tests, shut down when the last of them is done.

    Package scope, not session scope: while Playwright's sync API is started, its event loop
    counts as running on the main thread, so ``asyncio.run`` (used by the integration tests)
    fails and Django's async-safety guard refuses ORM calls. Tests after this package must
    not inherit that, and the browser tests themselves need the guard relaxed.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (make chromium)")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _context(browser: Browser, viewport: dict[str, int]) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=viewport, locale="en-GB")
    context.set_default_timeout(15_000)
    context.set_default_navigation_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    yield from _context(browser, DESKTOP)


@pytest.fixture
def phone_context(browser: Browser) -> Iterator[BrowserContext]:
    yield from _context(browser, PHONE)


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
