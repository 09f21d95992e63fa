"""A specialist connects their Stripe account from the listings page (Stripe Connect).

localstripe implements no Connect, so the calls are checked at the HTTP level against a
recorder answering with the shapes Stripe documents (tests/stripe_recorder.py): the
official SDK must send ``POST /v1/accounts`` with ``type=express`` and the capabilities,
then ``POST /v1/account_links`` with ``type=account_onboarding``. With localstripe the page
says Connect is not available and nothing is written.
"""

from __future__ import annotations

import pytest

from caredoor.core.payments.models import ConnectAccount
from tests.payments_helpers import priced
from tests.stripe_recorder import stripe_connect_api  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def test_the_specialist_connects_and_comes_back_able_to_take_payments(
    world,
    client_for,
    stripe_connect_api,  # noqa: F811
):
    priced(world.a, billing_model="specialist")
    client = client_for(world.a.specialist, world.a.brand)
    page = client.get("/specialist/listings/").content.decode()
    assert "Connect with Stripe" in page

    answer = client.post("/specialist/stripe/connect/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("https://connect.stripe.com/setup/")
    account, link = stripe_connect_api.requests
    assert (account.method, account.path) == ("POST", "/v1/accounts")
    assert account.form["type"] == "express"
    assert account.form["email"] == world.a.specialist.email
    assert account.form["capabilities[card_payments][requested]"] == "true"
    assert account.form["capabilities[transfers][requested]"] == "true"
    assert account.headers["Authorization"] == "Bearer sk_test_recorder"
    assert (link.path, link.form["type"]) == ("/v1/account_links", "account_onboarding")
    assert link.form["account"] == "acct_1TestCaredoor"
    assert link.form["return_url"].endswith("/specialist/stripe/connect/return/")
    assert ConnectAccount.objects.get().charges_enabled is False

    client.get("/specialist/stripe/connect/return/")
    assert ConnectAccount.objects.get().charges_enabled is True
    assert "Connect with Stripe" not in client.get("/specialist/listings/").content.decode()


def test_with_localstripe_connect_is_not_available(world, client_for, localstripe):
    priced(world.a, billing_model="specialist")
    client = client_for(world.a.specialist, world.a.brand)
    answer = client.post("/specialist/stripe/connect/", follow=True)
    assert "Stripe Connect is not available here" in answer.content.decode()
    assert not ConnectAccount.objects.exists()


def test_platform_billing_shows_no_stripe_account_section(world, client_for, localstripe):
    priced(world.a)
    page = client_for(world.a.specialist, world.a.brand).get("/specialist/listings/")
    assert "Your Stripe account" not in page.content.decode()


@pytest.mark.parametrize("who", ["patient", "org_admin", "operator", "affiliate"])
def test_only_specialists_reach_it(world, client_for, localstripe, who):
    priced(world.a, billing_model="specialist")
    answer = client_for(getattr(world.a, who), world.a.brand).post("/specialist/stripe/connect/")
    assert answer.status_code in (403, 404)
    assert not ConnectAccount.objects.exists()
