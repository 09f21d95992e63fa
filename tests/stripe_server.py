"""localstripe (a Stripe-compatible server, on PyPI) as a real process for tests, and the
helpers that speak to it as Stripe.js and Stripe would: card tokens made with the
publishable key, webhook events signed with the endpoint secret.

The payment code under test uses the official ``stripe`` SDK against this server
(``settings.PAYMENTS["api_base"]``); nothing about Stripe is mocked here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.smtp_server import free_port

PUBLISHABLE = "pk_test_caredoor_tests"
SECRET = "sk_test_caredoor_tests"
WEBHOOK_SECRET = "whsec_caredoor_tests"

# Stripe's test cards as localstripe knows them.
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"  # attaches, declined when charged
CARD_3DS = "4000002760003184"  # asks for authentication


class LocalStripe:
    def __init__(self, base: str, process: subprocess.Popen[bytes]) -> None:
        self.base = base
        self.process = process

    def card(self, number: str = CARD_OK) -> str:
        """A card as Stripe.js would send it (a token made with the publishable key);
        returns the card's id, which the server charges."""
        answer = httpx.post(
            f"{self.base}/v1/tokens",
            data={
                "card[number]": number,
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
                "key": PUBLISHABLE,
            },
        )
        answer.raise_for_status()
        return answer.json()["card"]["id"]

    def events(self) -> list[dict[str, Any]]:
        """Every event localstripe has made, oldest first (localstripe lists in order of
        creation), read page by page: the server lives for the whole test session."""
        events: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 100}
        while True:
            answer = httpx.get(f"{self.base}/v1/events", params=params, auth=(SECRET, ""))
            answer.raise_for_status()
            page = answer.json()
            events.extend(page["data"])
            if not page.get("has_more") or not page["data"]:
                return events
            params["starting_after"] = page["data"][-1]["id"]

    def authenticate(self, intent_id: str, client_secret: str, success: bool = True) -> None:
        """The card holder's answer to 3-D Secure (what localstripe's Stripe.js does)."""
        httpx.post(
            f"{self.base}/v1/payment_intents/{intent_id}/_authenticate",
            params={"success": "true" if success else "false"},
            json={"key": PUBLISHABLE, "client_secret": client_secret},
        ).raise_for_status()

    def register_webhook(self, url: str) -> None:
        httpx.post(
            f"{self.base}/_config/webhooks/caredoor",
            data={"url": url, "secret": WEBHOOK_SECRET},
        ).raise_for_status()

    def flush(self) -> None:
        httpx.delete(f"{self.base}/_config/data").raise_for_status()


def sign(payload: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """A Stripe-Signature header over ``payload``, as Stripe computes it."""
    stamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), b"%d.%s" % (stamp, payload), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def event_body(event: dict[str, Any]) -> bytes:
    return json.dumps(event, sort_keys=True).encode()


def start(port: int) -> LocalStripe:
    # scripts/localstripe_server.py: localstripe with no store on disk (its own default,
    # /tmp/localstripe.pickle, is shared by every instance on the machine).
    script = Path(__file__).resolve().parents[1] / "scripts" / "localstripe_server.py"
    process = subprocess.Popen(
        [sys.executable, str(script), "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "LOCALSTRIPE_STORE": ""},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/js.stripe.com/v3/", timeout=1).raise_for_status()
            return LocalStripe(base, process)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("localstripe did not start")


@pytest.fixture(scope="session")
def localstripe_server() -> Iterator[LocalStripe]:
    server = start(free_port())
    yield server
    server.process.terminate()
    server.process.wait(5)


@pytest.fixture
def localstripe(localstripe_server: LocalStripe, settings: Any) -> LocalStripe:
    """localstripe, with the payment code pointed at it (Stripe's keys for tests)."""
    settings.PAYMENTS = {
        **settings.PAYMENTS,
        "secret_key": SECRET,
        "publishable_key": PUBLISHABLE,
        "webhook_secret": WEBHOOK_SECRET,
        "api_base": localstripe_server.base,
        "js_url": f"{localstripe_server.base}/js.stripe.com/v3/",
        "connect": False,
    }
    return localstripe_server
