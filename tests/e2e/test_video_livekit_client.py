"""The room page's LiveKit path in the browser (``caredoor/ui/static/caredoor/js/video-livekit.js``
and the vendored SDK ``caredoor/ui/static/caredoor/vendor/livekit/livekit-client.umd.js``).

No LiveKit server can run on this machine (it is a separate Go service, not installed here, and
a fake one would test the fake), so no call goes through LiveKit in these tests. What is tested
for real, in Chromium with its fake camera and microphone, on one of our own pages under our
CSP (the brand's home page, as ``test_video_blur.py`` does, with the scripts added as the room
page adds them):

- the SDK and our script load without a CSP violation, a console error or a request to any
  other host, and ``CaredoorLiveKit.supported()`` is true;
- ``connect()`` with a real access token (``LiveKitProvider.client_config``) to a LiveKit URL
  where nothing listens rejects within seconds, reports "connecting" then "disconnected", and
  leaves the page's camera and microphone running; the page's CSP is the one the site sends
  with ``VIDEO_PROVIDER=livekit`` (the LiveKit host added to ``connect-src``);
- a connection attempt that hangs (a server that accepts TCP and never answers) ends at once
  when the page aborts it;
- with the ``p2p`` CSP (no LiveKit host allowed) the same connect is refused by the browser and
  rejects as quickly: the ``connect-src`` line in settings is what lets it through.
"""

from __future__ import annotations

import copy
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from caredoor.core.video.providers.livekit import LiveKitProvider
from tests.e2e.conftest import BrandWorld

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SDK = "/static/caredoor/vendor/livekit/livekit-client.umd.js"
SCRIPT = "/static/caredoor/js/video-livekit.js"
SDK_VERSION = "2.23.0"
API_KEY = "APIcaredoortest"
API_SECRET = "a-test-secret-that-is-long-enough-for-hs256"

# connect() with the fake camera and microphone; the result says what happened and how long
# it took. `abortAfter` (ms) aborts the attempt through handlers.signal.
CONNECT = """
async ({ config, abortAfter }) => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  const audio = stream.getAudioTracks()[0];
  const video = stream.getVideoTracks()[0];
  audio.enabled = false; // muted by the page before joining
  const states = [];
  const controller = new AbortController();
  if (abortAfter) setTimeout(() => controller.abort(), abortAfter);
  const began = performance.now();
  let outcome = "resolved";
  let error = null;
  try {
    const session = await window.CaredoorLiveKit.connect(config, { audio, video }, {
      onState: (state) => states.push(state),
      onRemoteTrack: () => states.push("remote track?"),
      element: document.createElement("video"),
      signal: controller.signal,
    });
    await session.disconnect();
  } catch (caught) {
    outcome = "rejected";
    error = caught && caught.name;
  }
  const ms = performance.now() - began;
  await new Promise((resolve) => setTimeout(resolve, 300)); // late events would show here
  const result = {
    outcome, error, ms, states,
    tracks: [audio.readyState, video.readyState],
    audioEnabled: audio.enabled,
  };
  stream.getTracks().forEach((track) => track.stop());
  return result;
}
"""


def _closed_port() -> int:
    """A loopback port where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never answers: a WebSocket handshake
    to it hangs (a LiveKit host that is up but stuck)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, name="silent-livekit", daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    server.close()


def _config(url: str) -> dict[str, Any]:
    """What the signaling socket's welcome carries with VIDEO_PROVIDER=livekit."""
    provider = LiveKitProvider(url, API_KEY, API_SECRET)
    config = provider.client_config("0f3a9c1e7b2d4a6f", "p-7f3a9c1e", "Test Patient")
    assert config["provider"] == "livekit" and config["token"].count(".") == 2
    return config


def _allow_livekit(settings: Any, url: str) -> None:
    """The CSP the site sends when LIVEKIT_URL is ``url`` (as caredoor/config/settings.py adds
    it for VIDEO_PROVIDER=livekit): the host over ws(s) and http(s) in connect-src."""
    scheme, _, netloc = url.partition("://")
    http = "https" if scheme == "wss" else "http"
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["connect-src"] += [f"{scheme}://{netloc}", f"{http}://{netloc}"]
    settings.CONTENT_SECURITY_POLICY = policy


class Watch:
    """What the page did that it should not: console errors, uncaught errors, requests to any
    host but the site (and the LiveKit URL given), failed responses."""

    def __init__(self, page: Page, base: str, livekit: str = "") -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.elsewhere: list[str] = []
        self.failed: list[str] = []
        allowed = tuple(p for p in (base, "data:", "blob:", livekit) if p)
        page.on(
            "console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None
        )
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on(
            "request", lambda r: None if r.url.startswith(allowed) else self.elsewhere.append(r.url)
        )
        page.on(
            "response",
            lambda r: (
                self.failed.append(f"{r.status} {r.url}")
                if r.status >= 400 and "/favicon" not in r.url
                else None
            ),
        )

    def csp_violations(self) -> list[str]:
        return [text for text in self.console_errors if "Content Security Policy" in text]


def _open(page: Page, base: str, *, sdk: bool = True) -> dict[str, str]:
    """The brand's home page with the room page's LiveKit scripts; its CSP directives."""
    response = page.goto(base + "/")
    assert response is not None
    directives = {
        name: value
        for name, _, value in (
            part.partition(" ") for part in response.headers["content-security-policy"].split("; ")
        )
    }
    if sdk:
        page.add_script_tag(url=base + SDK)
    page.add_script_tag(url=base + SCRIPT)
    return directives


def test_the_sdk_and_the_livekit_path_load_under_our_csp(
    page: Page, brand_world: BrandWorld, live_server: Any
) -> None:
    # summit.localhost: a secure context over plain HTTP (WebRTC and getUserMedia need one)
    base = brand_world.sites["summit"].base(live_server)
    watch = Watch(page, base)
    directives = _open(page, base)
    # Neither eval() nor inline scripts are allowed, and the SDK needs neither.
    assert directives["script-src"].split() == ["'self'", "'wasm-unsafe-eval'"]
    assert directives["connect-src"].split() == ["'self'"]
    result = page.evaluate(
        """async () => {
          await new Promise((resolve) => setTimeout(resolve, 1500)); // anything it does by itself
          const lk = window.LivekitClient;
          let badConfig = null;
          try {
            await window.CaredoorLiveKit.connect({ provider: "p2p", iceServers: [] }, {}, {});
          } catch (caught) {
            badConfig = caught.name;
          }
          return {
            version: lk.version,
            room: typeof lk.Room,
            browserSupported: lk.isBrowserSupported(),
            supported: window.CaredoorLiveKit.supported(),
            api: Object.keys(window.CaredoorLiveKit).sort(),
            badConfig,
          };
        }"""
    )
    assert result == {
        "version": SDK_VERSION,
        "room": "function",
        "browserSupported": True,
        "supported": True,
        "api": ["connect", "supported"],
        "badConfig": "TypeError",
    }
    assert watch.console_errors == []
    assert watch.page_errors == []
    assert watch.elsewhere == []
    assert watch.failed == []


def test_without_the_sdk_livekit_is_not_supported(
    page: Page, brand_world: BrandWorld, live_server: Any
) -> None:
    base = brand_world.sites["summit"].base(live_server)
    watch = Watch(page, base)
    _open(page, base, sdk=False)
    result = page.evaluate(
        """async () => {
          let error = null;
          try {
            await window.CaredoorLiveKit.connect(
              { provider: "livekit", url: "ws://127.0.0.1:9", token: "a.b.c" }, {}, {});
          } catch (caught) {
            error = caught.name;
          }
          return { supported: window.CaredoorLiveKit.supported(), error };
        }"""
    )
    assert result == {"supported": False, "error": "NotSupportedError"}
    assert watch.console_errors == [] and watch.page_errors == []


def test_connect_to_an_unreachable_livekit_rejects_within_seconds(
    page: Page, brand_world: BrandWorld, live_server: Any, settings: Any
) -> None:
    url = f"ws://127.0.0.1:{_closed_port()}"
    _allow_livekit(settings, url)
    base = brand_world.sites["summit"].base(live_server)
    watch = Watch(page, base, livekit=url.replace("ws://", "http://"))
    directives = _open(page, base)
    assert url in directives["connect-src"].split()
    result = page.evaluate(CONNECT, {"config": _config(url), "abortAfter": 0})
    print(
        f"\nunreachable LiveKit: {result['outcome']} ({result['error']}) in {result['ms']:.0f} ms"
    )
    assert result["outcome"] == "rejected"
    assert result["error"]  # LiveKit's ConnectionError (its name is the SDK's own)
    assert result["ms"] < 8000  # no hang: refused at once, plus LiveKit's 3 s /rtc/validate probe
    assert result["states"] == ["connecting", "disconnected"]
    # The page owns its devices: a failed connect stops neither, and the muted one stays muted.
    assert result["tracks"] == ["live", "live"]
    assert result["audioEnabled"] is False
    assert watch.page_errors == []  # nothing uncaught (no unhandled rejection)
    assert watch.csp_violations() == []
    assert watch.elsewhere == []  # only the site and the LiveKit host (its /rtc/validate probe)
    # What the console does show is the browser's own lines: the refused socket (its URL carries
    # the access token: LiveKit's protocol) and the refused /rtc/validate probe. No error of ours.
    assert watch.console_errors, "Chromium reports a refused WebSocket"
    for text in watch.console_errors:
        assert text.startswith(f"WebSocket connection to '{url}/rtc") or text == (
            "Failed to load resource: net::ERR_CONNECTION_REFUSED"
        ), text


def test_a_hanging_connect_ends_when_the_page_aborts_it(
    page: Page, brand_world: BrandWorld, live_server: Any, settings: Any, silent_server: int
) -> None:
    url = f"ws://127.0.0.1:{silent_server}"
    _allow_livekit(settings, url)
    base = brand_world.sites["summit"].base(live_server)
    watch = Watch(page, base, livekit=url.replace("ws://", "http://"))
    _open(page, base)
    result = page.evaluate(CONNECT, {"config": _config(url), "abortAfter": 1500})
    print(f"\nsilent LiveKit, aborted: {result['error']} in {result['ms']:.0f} ms")
    assert result["outcome"] == "rejected"
    assert result["error"] == "AbortError"
    assert 1400 <= result["ms"] < 4000
    assert result["states"] == ["connecting", "disconnected"]
    assert result["tracks"] == ["live", "live"]
    assert watch.page_errors == []
    assert watch.csp_violations() == []
    assert watch.elsewhere == []


def test_without_the_livekit_host_in_the_csp_the_browser_refuses_the_socket(
    page: Page, brand_world: BrandWorld, live_server: Any
) -> None:
    """The p2p CSP (connect-src 'self'): the same connect is blocked by the browser."""
    url = f"ws://127.0.0.1:{_closed_port()}"
    base = brand_world.sites["summit"].base(live_server)
    watch = Watch(page, base)
    _open(page, base)
    result = page.evaluate(CONNECT, {"config": _config(url), "abortAfter": 0})
    assert result["outcome"] == "rejected"
    assert result["ms"] < 8000
    assert result["states"] == ["connecting", "disconnected"]
    assert watch.csp_violations()  # the browser says why
    assert watch.page_errors == []
    assert watch.elsewhere == []  # blocked before anything left the page
