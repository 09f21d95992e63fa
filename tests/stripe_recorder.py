"""A stand-in for the parts of Stripe's API that localstripe does not implement (Stripe
Connect: accounts and account links), answering with the shapes Stripe documents and
recording each request, so tests check what the official SDK sends at the HTTP level."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

ANSWERS: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/accounts"): {
        "id": "acct_1TestCaredoor",
        "object": "account",
        "type": "express",
        "charges_enabled": False,
        "details_submitted": False,
    },
    ("POST", "/v1/account_links"): {
        "object": "account_link",
        "created": 1700000000,
        "expires_at": 1700000300,
        "url": "https://connect.stripe.com/setup/e/acct_1TestCaredoor/abc",
    },
    ("GET", "/v1/accounts/acct_1TestCaredoor"): {
        "id": "acct_1TestCaredoor",
        "object": "account",
        "type": "express",
        "charges_enabled": True,
        "details_submitted": True,
    },
}


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class Recorder:
    base: str = ""
    requests: list[Recorded] = field(default_factory=list)


def serve(recorder: Recorder) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            path = self.path.split("?")[0]
            recorder.requests.append(
                Recorded(method, path, dict(parse_qsl(body)), dict(self.headers.items()))
            )
            answer = ANSWERS.get((method, path))
            status = 200 if answer is not None else 404
            payload = json.dumps(answer or {"error": {"message": "not here"}}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    recorder.base = f"http://127.0.0.1:{server.server_address[1]}"
    return server


@pytest.fixture
def stripe_connect_api(settings: Any) -> Iterator[Recorder]:
    """The payment code pointed at the recorder, with Connect on (as with real Stripe)."""
    recorder = Recorder()
    server = serve(recorder)
    settings.PAYMENTS = {
        **settings.PAYMENTS,
        "secret_key": "sk_test_recorder",
        "publishable_key": "pk_test_recorder",
        "api_base": recorder.base,
        "connect": True,
    }
    yield recorder
    server.shutdown()
