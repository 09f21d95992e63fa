"""Named personas on two networks, each with its own brands.

``world.a`` is the home network: brands ``a.brand`` (public, password + email code + magic
link) and ``a.sister`` (a second brand of the same network), a clinic bound to ``a.brand``
and the operator organization. ``world.b`` is another operator's network with the same
roles. Each side has: patient, specialist, org_admin, org_staff, finance, affiliate,
operator; ``world.outsider`` has an account and no role anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from django.test import Client

from caredoor.core.accounts.models import User
from caredoor.core.brands.models import Brand, Network
from caredoor.core.organizations.models import Organization
from tests import factories

pytest_plugins = ["tests.stripe_server"]

ROLES = ["patient", "specialist", "org_admin", "org_staff", "finance", "affiliate", "operator"]


@dataclass
class Side:
    network: Network
    brand: Brand
    sister: Brand
    clinic: Organization
    operator_org: Organization
    people: dict[str, User] = field(default_factory=dict)

    def __getattr__(self, name: str) -> User:
        people = self.__dict__.get("people", {})
        if name in people:
            return people[name]
        raise AttributeError(name)


@dataclass
class World:
    a: Side
    b: Side
    outsider: User


def build_side(tag: str) -> Side:
    network = factories.make_network(f"network-{tag}")
    brand = factories.make_brand(
        network, f"{tag}.test", slug=f"brand-{tag}", name=f"Brand {tag.upper()}"
    )
    sister = factories.make_brand(
        network,
        f"{tag}-sister.test",
        slug=f"sister-{tag}",
        name=f"Sister {tag.upper()}",
        primary_color="#6d28d9",
    )
    clinic = factories.make_org(network, "clinic", [brand], slug=f"clinic-{tag}")
    operator_org = factories.make_org(network, "operator", slug=f"operator-{tag}")
    side = Side(network, brand, sister, clinic, operator_org)
    for role in ROLES:
        user = factories.make_user(f"{role}.{tag}@example.test", name=f"{role.title()} {tag}")
        org = operator_org if role == "operator" else clinic
        factories.grant(user, role, network=network, brand=brand, organization=org)
        side.people[role] = user
    return side


@pytest.fixture
def world(db) -> World:
    cache.clear()
    return World(
        a=build_side("a"), b=build_side("b"), outsider=factories.make_user("outsider@example.test")
    )


def host_of(brand: Brand) -> str:
    return brand.domains.get(is_primary=True).host


@pytest.fixture(autouse=True)
def message_notice_batch():
    """Message notifications a test's live loop left unflushed (its loop is gone, and so
    is its database) are not the next test's."""
    from caredoor.core.messaging import notify

    yield
    with notify._pending_lock:
        notify._pending.clear()
        notify._flush_loop = None


@pytest.fixture(autouse=True)
def no_stray_stripe(settings):
    """Outside production the payment code defaults to localstripe on localhost:8420, where
    a running demo (make run) may listen: a test talks only to the Stripe it starts itself
    (the ``localstripe`` fixtures), never to the demo's. Port 1 refuses at once."""
    nowhere = "http://127.0.0.1:1"
    settings.PAYMENTS = {
        **settings.PAYMENTS,
        "api_base": nowhere,
        "js_url": f"{nowhere}/js.stripe.com/v3/",
    }


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Every test stores uploads in a folder of its own (tests may ask for its path)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def covered(world) -> Brand:
    """A private, employer-funded program of network A: sessions are covered (price 0)."""
    return factories.make_brand(
        world.a.network,
        "covered-a.test",
        name="Covered A",
        pricing_mode="brand_fixed",
        fixed_price_minor=0,
        visibility="private",
        journey_mode="assisted",
    )


@pytest.fixture
def client_for():
    """``client_for(user, brand)``: a client on the brand's host, signed in as ``user``."""

    def make(user: User | None, brand: Brand | None, host: str | None = None) -> Client:
        client = Client(HTTP_HOST=host or host_of(brand))
        if user is not None:
            client.force_login(user)
        return client

    return make
