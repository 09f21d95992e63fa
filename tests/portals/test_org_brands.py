"""The operator console: brands and their domains.

An operator creates and edits every setting of their network's brands; bad input gets a
field error and changes nothing (neither the brand row, nor the audit trail, nor files);
nobody else, and no operator of another network, reaches these pages.
"""

from __future__ import annotations

import io
import os
import re
from typing import Any

import pytest
from django.urls import resolve
from django.views.static import serve
from PIL import Image

from caredoor.core.brands.actions import do_add_domain
from caredoor.core.brands.models import Brand, Domain
from caredoor.core.brands.theme import contrast, readable_text_on
from caredoor.core.compliance.models import AuditEvent

DENIED = {404, 403}
NON_OPERATORS = ["org_admin", "org_staff", "finance", "patient", "specialist", "affiliate"]


def stored_files(media) -> list[str]:
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())


def row(brand: Brand) -> dict[str, Any]:
    values = Brand.objects.filter(pk=brand.pk).values().get()
    values.pop("updated_at")
    return values


def form_data(brand: Brand, **overrides: Any) -> dict[str, Any]:
    """The edit form as the browser would submit it, unchanged unless overridden."""
    data: dict[str, Any] = {
        "name": brand.name,
        "tagline": brand.tagline,
        "primary_color": brand.primary_color,
        "accent_color": brand.accent_color,
        "default_language": brand.default_language,
        "languages": list(brand.languages),
        "time_zone": brand.time_zone,
        "currency": brand.currency,
        "journey_mode": brand.journey_mode,
        "pricing_mode": brand.pricing_mode,
        "fixed_price": "",
        "billing_model": brand.billing_model,
        "modules": list(brand.modules),
        "sign_in_methods": list(brand.sign_in_methods),
        "visibility": brand.visibility,
    }
    if brand.is_active:
        data["is_active"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def new_brand_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Calm Harbour",
        "slug": "calm-harbour",
        "primary_host": "Calm.Example.Test",
        "tagline": "Talk to someone today.",
        "primary_color": "#1d4ed8",
        "accent_color": "#0f766e",
        "default_language": "en",
        "languages": ["en", "fr"],
        "time_zone": "Europe/Paris",
        "currency": "EUR",
        "journey_mode": "matching",
        "pricing_mode": "brand_fixed",
        "fixed_price": "65.00",
        "billing_model": "platform",
        "modules": ["booking", "video"],
        "sign_in_methods": ["password", "magic_link"],
        "visibility": "public",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def image_file(
    fmt: str = "PNG", size: tuple[int, int] = (64, 64), name: str = "logo.png", **save: Any
) -> io.BytesIO:
    image = Image.new("RGB", size, "#1d4ed8")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    buffer.seek(0)
    buffer.name = name
    return buffer


def noise_png(side: int = 700) -> io.BytesIO:
    """A real PNG larger than 1 MB (random pixels do not compress)."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    assert buffer.tell() > 1024 * 1024
    buffer.seek(0)
    buffer.name = "big.png"
    return buffer


def edit_url(brand: Brand) -> str:
    return f"/org/brands/{brand.pk}/"


def errors_of(response, field: str) -> str:
    """The text of the error list rendered for ``field`` (empty if there is none)."""
    body = response.content.decode()
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', body, re.S)
    return match.group(1) if match else ""


# --- the list -------------------------------------------------------------------------------


def test_brand_list_shows_the_networks_brands_only(world, client_for):
    response = client_for(world.a.operator, world.a.brand).get("/org/brands/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Brand A" in body and "Sister A" in body
    assert "a-sister.test" in body
    assert "Brand B" not in body and "b.test" not in body
    assert 'href="/org/brands/new/"' in body
    assert f'href="/org/brands/{world.a.sister.pk}/"' in body
    assert '<th scope="col">' in body
    assert 'aria-current="page"' in body  # "Brands" in the main navigation


# --- creating -------------------------------------------------------------------------------


def test_operator_creates_a_brand_that_resolves_on_its_host(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    assert client.get("/org/brands/new/").status_code == 200
    events = AuditEvent.objects.count()
    response = client.post("/org/brands/new/", new_brand_data())
    assert response.status_code == 302
    brand = Brand.objects.get(slug="calm-harbour")
    assert response["Location"] == edit_url(brand)
    assert brand.network == world.a.network
    assert brand.fixed_price_minor == 6500
    assert brand.languages == ["en", "fr"]
    assert brand.primary_domain.host == "calm.example.test"
    event = AuditEvent.objects.get(action="brand.created", target_id=str(brand.pk))
    assert event.actor == world.a.operator
    assert event.actor_role == "operator"
    assert event.brand_id == brand.pk
    assert event.data["host"] == "calm.example.test"
    assert event.data["fixed_price_minor"] == 6500
    assert AuditEvent.objects.count() == events + 1
    # The new brand answers on its own host, with its own name.
    home = client_for(None, brand).get("/")
    assert home.status_code == 200
    assert "Calm Harbour" in home.content.decode()


def test_creating_with_a_logo_stores_a_clean_png(world, client_for, media):
    client = client_for(world.a.operator, world.a.brand)
    exif = Image.Exif()
    exif[0x010F] = "Secret Camera Maker"
    upload = image_file("JPEG", (120, 80), "photo.jpg", exif=exif.tobytes())
    response = client.post("/org/brands/new/", new_brand_data(logo=upload))
    assert response.status_code == 302
    brand = Brand.objects.get(slug="calm-harbour")
    assert brand.logo.name.startswith("brand-logos/calm-harbour")
    assert brand.logo.name.endswith(".png")
    with Image.open(brand.logo.path) as stored:
        assert stored.format == "PNG"
        assert stored.size == (120, 80)
        assert not stored.getexif()
        assert "exif" not in stored.info
    assert b"Secret Camera Maker" not in (media / brand.logo.name).read_bytes()
    event = AuditEvent.objects.get(action="brand.created", target_id=str(brand.pk))
    assert event.data["logo"] == brand.logo.name
    # The stored name fits the public route for brand logos.
    assert resolve(brand.logo.url).func is serve


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"primary_host": "a.test"}, "primary_host"),  # brand A's host
        ({"primary_host": "a-sister.test"}, "primary_host"),
        ({"primary_host": "https://x.example/"}, "primary_host"),
        ({"primary_host": "localhost"}, "primary_host"),  # the platform's own host
        ({"slug": "brand-b"}, "slug"),  # taken, even though by another network
        ({"slug": "not a slug"}, "slug"),
        ({"name": ""}, "name"),
        ({"primary_color": "blue"}, "primary_color"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"default_language": "de"}, "default_language"),  # not among the offered
        ({"fixed_price": ""}, "fixed_price"),  # fixed-price brand without its price
        ({"languages": []}, "languages"),
        ({"sign_in_methods": []}, "sign_in_methods"),
    ],
)
def test_creating_with_bad_input_changes_nothing(world, client_for, media, overrides, field):
    client = client_for(world.a.operator, world.a.brand)
    brands, domains, events = (
        Brand.objects.count(),
        Domain.objects.count(),
        AuditEvent.objects.count(),
    )
    data = new_brand_data(**overrides)
    data["logo"] = image_file()
    response = client.post("/org/brands/new/", data)
    assert response.status_code == 400
    assert errors_of(response, field), response.content.decode()
    assert "Nothing was saved" in response.content.decode()
    assert (Brand.objects.count(), Domain.objects.count(), AuditEvent.objects.count()) == (
        brands,
        domains,
        events,
    )
    assert stored_files(media) == []


def test_creating_reports_brand_and_host_problems_together(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    response = client.post(
        "/org/brands/new/", new_brand_data(primary_host="a.test", default_language="de")
    )
    assert response.status_code == 400
    assert "already in use" in errors_of(response, "primary_host")
    assert "must be offered" in errors_of(response, "default_language")


# --- editing --------------------------------------------------------------------------------


def test_edit_page_shows_every_setting_in_groups(world, client_for):
    response = client_for(world.a.operator, world.a.brand).get(edit_url(world.a.sister))
    assert response.status_code == 200
    body = response.content.decode()
    for legend in [
        "Identity",
        "Look",
        "Language and region",
        "Patient journey and money",
        "Modules and sign-in",
        "Visibility",
    ]:
        assert f"<legend>{legend}</legend>" in body
    for name in [
        "name",
        "tagline",
        "logo",
        "primary_color",
        "accent_color",
        "default_language",
        "languages",
        "time_zone",
        "currency",
        "journey_mode",
        "pricing_mode",
        "fixed_price",
        "billing_model",
        "modules",
        "sign_in_methods",
        "visibility",
        "is_active",
    ]:
        assert f'name="{name}"' in body, name
    assert 'type="color"' in body
    assert 'enctype="multipart/form-data"' in body
    assert 'name="slug"' not in body  # the slug is fixed once the brand exists
    assert "a-sister.test" in body  # the domains section


def test_operator_edits_every_kind_of_field(world, client_for, media):
    sister = world.a.sister
    before = row(sister)
    client = client_for(world.a.operator, world.a.brand)
    data = form_data(
        sister,
        name="Sister Renamed",
        tagline="New words",
        logo=image_file("WEBP", (300, 100), "logo.webp"),
        primary_color="#0B3D2E",
        accent_color="#7c2d12",
        default_language="fr",
        languages=["fr", "en"],
        time_zone="America/New_York",
        currency="USD",
        journey_mode="assisted",
        pricing_mode="brand_fixed",
        fixed_price="79.5",
        billing_model="hybrid",
        modules=["booking", "payments", "intake"],
        sign_in_methods=["email_code"],
        visibility="private",
    )
    data.pop("is_active")  # unticked: the brand is switched off
    response = client.post(edit_url(sister), data)
    assert response.status_code == 302, response.content.decode()
    sister.refresh_from_db()
    assert sister.name == "Sister Renamed"
    assert sister.tagline == "New words"
    assert sister.primary_color == "#0b3d2e"
    assert sister.accent_color == "#7c2d12"
    assert sister.default_language == "fr"
    assert sister.languages == ["fr", "en"]
    assert sister.time_zone == "America/New_York"
    assert sister.currency == "USD"
    assert sister.journey_mode == "assisted"
    assert sister.pricing_mode == "brand_fixed"
    assert sister.fixed_price_minor == 7950
    assert sister.billing_model == "hybrid"
    assert sister.modules == ["booking", "payments", "intake"]
    assert sister.sign_in_methods == ["email_code"]
    assert sister.visibility == "private"
    assert sister.is_active is False
    with Image.open(sister.logo.path) as stored:
        assert (stored.format, stored.size) == ("PNG", (300, 100))

    event = AuditEvent.objects.filter(action="brand.updated").latest("seq")
    assert event.target_id == str(sister.pk)
    assert event.brand_id == sister.pk
    assert event.actor == world.a.operator
    changes = event.data["changes"]
    assert changes["name"] == {"from": before["name"], "to": "Sister Renamed"}
    assert changes["primary_color"] == {"from": before["primary_color"], "to": "#0b3d2e"}
    assert changes["languages"] == {"from": before["languages"], "to": ["fr", "en"]}
    assert changes["fixed_price_minor"] == {"from": None, "to": 7950}
    assert changes["is_active"] == {"from": True, "to": False}
    assert changes["visibility"] == {"from": "public", "to": "private"}
    assert changes["logo"] == {"from": "", "to": sister.logo.name}
    assert set(changes) == {
        "name",
        "tagline",
        "logo",
        "primary_color",
        "accent_color",
        "default_language",
        "languages",
        "time_zone",
        "currency",
        "journey_mode",
        "pricing_mode",
        "fixed_price_minor",
        "billing_model",
        "modules",
        "sign_in_methods",
        "visibility",
        "is_active",
    }
    # Switched off: its host no longer answers.
    assert client_for(None, None, host="a-sister.test").get("/").status_code == 404


def test_the_edit_form_shows_the_price_in_major_units_and_saves_nothing_unchanged(
    world, client_for
):
    brand = world.a.sister
    Brand.objects.filter(pk=brand.pk).update(pricing_mode="brand_fixed", fixed_price_minor=6500)
    brand.refresh_from_db()
    client = client_for(world.a.operator, world.a.brand)
    body = client.get(edit_url(brand)).content.decode()
    assert 'value="65.00"' in body
    events = AuditEvent.objects.count()
    response = client.post(edit_url(brand), form_data(brand, fixed_price="65.00"), follow=True)
    assert "Nothing changed." in response.content.decode()
    assert AuditEvent.objects.count() == events


def test_prices_follow_the_currency_exponent(world, client_for):
    brand = world.a.sister
    client = client_for(world.a.operator, world.a.brand)
    data = form_data(brand, currency="JPY", pricing_mode="brand_fixed", fixed_price="6500")
    assert client.post(edit_url(brand), data).status_code == 302
    brand.refresh_from_db()
    assert brand.fixed_price_minor == 6500
    before = row(brand)
    response = client.post(edit_url(brand), form_data(brand, fixed_price="65.5"))
    assert response.status_code == 400
    assert "decimal places" in errors_of(response, "fixed_price")
    assert row(brand) == before


def poor_contrast() -> str:
    colour = "#777777"
    assert contrast(colour, readable_text_on(colour)) < 4.5
    return colour


BAD_EDITS = {
    "bad colour": ({"primary_color": "#12345"}, "primary_color"),
    "colour name": ({"accent_color": "red"}, "accent_color"),
    "poor contrast": ({"primary_color": poor_contrast()}, "primary_color"),
    "unknown time zone": ({"time_zone": "Europe/Atlantis"}, "time_zone"),
    "default language not offered": ({"default_language": "fr"}, "default_language"),
    "unknown language": ({"languages": ["en", "xx"]}, "languages"),
    "unknown module": ({"modules": ["booking", "teleportation"]}, "modules"),
    "no sign-in method": ({"sign_in_methods": []}, "sign_in_methods"),
    "fixed price missing": ({"pricing_mode": "brand_fixed", "fixed_price": ""}, "fixed_price"),
    "negative price": ({"fixed_price": "-5"}, "fixed_price"),
    "price not a number": ({"fixed_price": "lots"}, "fixed_price"),
    "unknown currency": ({"currency": "XXX"}, "currency"),
    "unknown journey": ({"journey_mode": "teleport"}, "journey_mode"),
    "empty name": ({"name": "  "}, "name"),
}


@pytest.mark.parametrize("case", list(BAD_EDITS))
def test_bad_edits_show_a_field_error_and_change_nothing(world, client_for, media, case):
    overrides, field = BAD_EDITS[case]
    brand = world.a.sister
    before, events = row(brand), AuditEvent.objects.count()
    client = client_for(world.a.operator, world.a.brand)
    data = form_data(brand, name="Would Be Renamed", logo=image_file())
    data.update(overrides)
    response = client.post(edit_url(brand), data)
    assert response.status_code == 400
    assert errors_of(response, field), response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert row(brand) == before
    assert AuditEvent.objects.count() == events
    assert stored_files(media) == []


def text_renamed_png() -> io.BytesIO:
    buffer = io.BytesIO(b"this is plain text, not an image\n" * 20)
    buffer.name = "logo.png"
    return buffer


def truncated_png() -> io.BytesIO:
    data = image_file().getvalue()
    buffer = io.BytesIO(data[: len(data) // 2])
    buffer.name = "logo.png"
    return buffer


BAD_LOGOS = {
    "text file renamed .png": (text_renamed_png, "not one"),
    "truncated png": (truncated_png, "not one"),
    "gif": (lambda: image_file("GIF", name="logo.png"), "not one"),
    "svg": (lambda: _named(b'<svg xmlns="http://www.w3.org/2000/svg"/>', "logo.svg"), "not one"),
    "more than 1 MB": (noise_png, "at most 1 MB"),
    "wider than 2048 px": (lambda: image_file(size=(2049, 16)), "2048 pixels a side"),
    "taller than 2048 px": (lambda: image_file("JPEG", (8, 3000), "tall.jpg"), "2048 pixels"),
}


def _named(content: bytes, name: str) -> io.BytesIO:
    buffer = io.BytesIO(content)
    buffer.name = name
    return buffer


@pytest.mark.parametrize("case", list(BAD_LOGOS))
def test_bad_logo_uploads_are_refused(world, client_for, media, case):
    make, message = BAD_LOGOS[case]
    brand = world.a.sister
    before, events = row(brand), AuditEvent.objects.count()
    client = client_for(world.a.operator, world.a.brand)
    response = client.post(edit_url(brand), form_data(brand, tagline="Changed", logo=make()))
    assert response.status_code == 400
    assert message in errors_of(response, "logo")
    assert row(brand) == before
    assert AuditEvent.objects.count() == events
    assert stored_files(media) == []


def test_a_logo_can_be_replaced_and_removed(world, client_for):
    brand = world.a.sister
    client = client_for(world.a.operator, world.a.brand)
    assert client.post(edit_url(brand), form_data(brand, logo=image_file())).status_code == 302
    brand.refresh_from_db()
    first = brand.logo.name
    assert 'name="remove_logo"' in client.get(edit_url(brand)).content.decode()
    response = client.post(edit_url(brand), form_data(brand, remove_logo="on"))
    assert response.status_code == 302
    brand.refresh_from_db()
    assert not brand.logo
    event = AuditEvent.objects.filter(action="brand.updated").latest("seq")
    assert event.data["changes"] == {"logo": {"from": first, "to": ""}}


# --- domains --------------------------------------------------------------------------------


def test_domains_add_make_primary_and_remove(world, client_for):
    brand = world.a.sister
    client = client_for(world.a.operator, world.a.brand)
    base = f"/org/brands/{brand.pk}/domains/"

    response = client.post(base, {"host": "WWW.Sister-A.test"})
    assert response.status_code == 302
    alias = Domain.objects.get(host="www.sister-a.test")
    assert alias.brand == brand and not alias.is_primary
    added = AuditEvent.objects.latest("seq")
    assert (added.action, added.data, added.brand_id) == (
        "domain.added",
        {"host": "www.sister-a.test"},
        brand.pk,
    )
    assert client_for(None, None, host="www.sister-a.test").get("/").status_code == 200
    body = client.get(edit_url(brand)).content.decode()
    assert "www.sister-a.test" in body and "Make primary" in body

    assert client.post(f"{base}{alias.pk}/primary/").status_code == 302
    alias.refresh_from_db()
    assert alias.is_primary
    assert brand.domains.filter(is_primary=True).count() == 1
    changed = AuditEvent.objects.latest("seq")
    assert changed.action == "domain.primary_changed"
    assert changed.data == {"from": "a-sister.test", "to": "www.sister-a.test"}

    old = Domain.objects.get(host="a-sister.test")
    assert client.post(f"{base}{old.pk}/remove/").status_code == 302
    assert not Domain.objects.filter(host="a-sister.test").exists()
    removed = AuditEvent.objects.latest("seq")
    assert (removed.action, removed.data) == ("domain.removed", {"host": "a-sister.test"})


def test_the_primary_domain_cannot_be_removed(world, client_for):
    brand = world.a.sister
    primary = brand.domains.get(is_primary=True)
    client = client_for(world.a.operator, world.a.brand)
    events = AuditEvent.objects.count()
    response = client.post(f"/org/brands/{brand.pk}/domains/{primary.pk}/remove/", follow=True)
    assert "Make another domain primary" in response.content.decode()
    assert Domain.objects.filter(pk=primary.pk, is_primary=True).exists()
    assert AuditEvent.objects.count() == events


def test_the_address_in_use_cannot_be_removed(world, client_for):
    brand = world.a.brand
    extra = do_add_domain(brand, "alias-a.test", actor=None, actor_role="")
    client = client_for(world.a.operator, brand, host="alias-a.test")
    response = client.post(f"/org/brands/{brand.pk}/domains/{extra.pk}/remove/", follow=True)
    assert "you are using this address" in response.content.decode()
    assert Domain.objects.filter(pk=extra.pk).exists()


@pytest.mark.parametrize("host", ["a.test", "b.test", "not a host", "localhost"])
def test_bad_alias_hosts_are_refused(world, client_for, host):
    brand = world.a.sister
    client = client_for(world.a.operator, world.a.brand)
    domains, events = Domain.objects.count(), AuditEvent.objects.count()
    response = client.post(f"/org/brands/{brand.pk}/domains/", {"host": host})
    assert response.status_code == 400
    assert errors_of(response, "host")
    assert (Domain.objects.count(), AuditEvent.objects.count()) == (domains, events)


def test_domain_changes_are_post_only(world, client_for):
    brand = world.a.sister
    domain = brand.domains.get()
    client = client_for(world.a.operator, world.a.brand)
    for path in [
        f"/org/brands/{brand.pk}/domains/",
        f"/org/brands/{brand.pk}/domains/{domain.pk}/primary/",
        f"/org/brands/{brand.pk}/domains/{domain.pk}/remove/",
    ]:
        assert client.get(path).status_code == 405
    assert Domain.objects.filter(pk=domain.pk).exists()


def test_a_domain_of_another_brand_is_not_found_through_this_one(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    other = world.a.brand.domains.get()
    response = client.post(f"/org/brands/{world.a.sister.pk}/domains/{other.pk}/remove/")
    assert response.status_code == 404
    assert Domain.objects.filter(pk=other.pk).exists()


# --- who may -------------------------------------------------------------------------------


def test_another_networks_operator_cannot_see_or_touch_these_brands(world, client_for):
    target = world.a.brand
    domain = target.domains.get()
    before, events = row(target), AuditEvent.objects.count()
    client = client_for(world.b.operator, world.b.brand)
    assert "Brand A" not in client.get("/org/brands/").content.decode()
    assert client.get(edit_url(target)).status_code == 404
    assert client.post(edit_url(target), form_data(target, name="Hijacked")).status_code == 404
    base = f"/org/brands/{target.pk}/domains/"
    assert client.post(base, {"host": "evil.test"}).status_code == 404
    assert client.post(f"{base}{domain.pk}/primary/").status_code == 404
    assert client.post(f"{base}{domain.pk}/remove/").status_code == 404
    assert row(target) == before
    assert Domain.objects.filter(pk=domain.pk).exists()
    assert not Domain.objects.filter(host="evil.test").exists()
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("role", [*NON_OPERATORS, "outsider"])
def test_other_roles_cannot_reach_the_brand_pages(world, client_for, role, media):
    user = world.outsider if role == "outsider" else world.a.people[role]
    client = client_for(user, world.a.brand)
    brand = world.a.brand
    domain = brand.domains.get()
    before, brands, events = row(brand), Brand.objects.count(), AuditEvent.objects.count()
    for path in ["/org/brands/", "/org/brands/new/", edit_url(brand)]:
        assert client.get(path).status_code in DENIED, path
    assert client.post("/org/brands/new/", new_brand_data()).status_code in DENIED
    assert client.post(edit_url(brand), form_data(brand, name="Hijacked")).status_code in DENIED
    base = f"/org/brands/{brand.pk}/domains/"
    assert client.post(base, {"host": "evil.test"}).status_code in DENIED
    assert client.post(f"{base}{domain.pk}/remove/").status_code in DENIED
    assert row(brand) == before
    assert Brand.objects.count() == brands
    assert Domain.objects.filter(pk=domain.pk).exists()
    assert AuditEvent.objects.count() == events


def test_visitors_are_sent_to_sign_in(world, client_for):
    response = client_for(None, world.a.brand).get("/org/brands/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_platform_host_serves_the_brand_pages_to_operators(world, client_for):
    client = client_for(world.a.operator, None, host="localhost")
    assert client.get("/org/brands/").status_code == 200
    assert client.get(edit_url(world.a.brand)).status_code == 200
    assert client.get(edit_url(world.b.brand)).status_code == 404


def test_a_brands_page_links_to_its_journey_settings(world, client_for):
    brand = world.a.brand
    page = client_for(world.a.operator, brand).get(edit_url(brand)).content.decode()
    for path in (
        f"/org/brands/{brand.pk}/booking-rules/",
        f"/org/brands/{brand.pk}/matching/",
        f"/org/brands/{brand.pk}/feedback/",
        "/org/intake/",
        "/org/consents/",
    ):
        assert f'href="{path}"' in page, path
