import pytest
from django.core.exceptions import ValidationError

from caredoor.core.brands.actions import do_add_domain
from caredoor.core.brands.queries import brand_for_host, normalize_host
from caredoor.core.brands.theme import contrast, readable_text_on
from tests import factories


@pytest.mark.parametrize(
    ("raw", "host"),
    [
        ("Care.Example.COM", "care.example.com"),
        ("care.example.com:8000", "care.example.com"),
        ("care.example.com.", "care.example.com"),
        ("[::1]:8000", "[::1]"),
        ("  harbor.localhost  ", "harbor.localhost"),
    ],
)
def test_normalize_host(raw, host):
    assert normalize_host(raw) == host


def test_primary_and_alias_domains_resolve_to_the_brand(world):
    do_add_domain(world.a.brand, "WWW.A.test", actor=None, actor_role="")
    assert brand_for_host("a.test:8443") == world.a.brand
    assert brand_for_host("www.a.test") == world.a.brand
    assert brand_for_host("b.test") == world.b.brand
    assert brand_for_host("c.test") is None


def test_inactive_brand_does_not_resolve(world, client):
    world.a.brand.is_active = False
    world.a.brand.save()
    assert brand_for_host("a.test") is None
    assert client.get("/", HTTP_HOST="a.test").status_code == 404


def test_each_host_renders_its_own_brand(world, client):
    a = client.get("/", HTTP_HOST="a.test").content.decode()
    b = client.get("/", HTTP_HOST="b.test").content.decode()
    assert "Brand A" in a and "Brand B" not in a
    assert "Brand B" in b and "Brand A" not in b


def test_theme_css_carries_the_brand_colours(world, client):
    response = client.get("/brand/theme.css", HTTP_HOST="a-sister.test")
    assert response["Content-Type"].startswith("text/css")
    css = response.content.decode()
    assert "--brand-primary:#6d28d9" in css
    assert "--brand-on-primary:#ffffff" in css
    again = client.get(
        "/brand/theme.css", HTTP_HOST="a-sister.test", HTTP_IF_NONE_MATCH=response["ETag"]
    )
    assert again.status_code == 304


def test_page_language_follows_brand_then_person(world, client_for):
    world.a.brand.default_language = "de"
    world.a.brand.save()
    client = client_for(None, world.a.brand)
    assert '<html lang="de">' in client.get("/").content.decode()
    assert (
        '<html lang="en">'
        in client.get("/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8").content.decode()
    )
    # A language the brand does not offer falls back to the brand's default.
    assert '<html lang="de">' in client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    world.a.patient.language = "en"
    world.a.patient.save()
    signed_in = client_for(world.a.patient, world.a.brand)
    assert '<html lang="en">' in signed_in.get("/").content.decode()


def test_readable_text_colour_meets_contrast():
    for colour in ["#1f4e79", "#6d28d9", "#065f46", "#fde047", "#ffffff", "#000000"]:
        assert contrast(colour, readable_text_on(colour)) >= 4.5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("primary_color", "blue"),
        ("primary_color", "#777777"),  # mid-grey: neither black nor white text reads well
        ("time_zone", "Mars/Olympus"),
        ("languages", ["en", "xx"]),
        ("languages", []),
        ("default_language", "fr"),  # not offered
        ("modules", ["booking", "teleportation"]),
        ("sign_in_methods", []),
        ("sign_in_methods", ["password", "carrier-pigeon"]),
    ],
)
def test_brand_validation_rejects_bad_configuration(world, field, value):
    brand = world.a.brand
    setattr(brand, field, value)
    with pytest.raises(ValidationError) as excinfo:
        brand.full_clean()
    assert field in excinfo.value.message_dict


def test_fixed_price_brand_needs_its_price(world):
    brand = world.a.brand
    brand.pricing_mode = "brand_fixed"
    brand.fixed_price_minor = None
    with pytest.raises(ValidationError) as excinfo:
        brand.full_clean()
    assert "fixed_price_minor" in excinfo.value.message_dict


def test_duplicate_or_platform_host_is_refused(world):
    with pytest.raises(ValidationError):
        do_add_domain(world.a.brand, "b.test", actor=None, actor_role="")
    with pytest.raises(ValidationError):
        do_add_domain(world.a.brand, "localhost", actor=None, actor_role="")
    with pytest.raises(ValidationError):
        do_add_domain(world.a.brand, "http://bad host/", actor=None, actor_role="")
    assert world.a.brand.domains.count() == 1


def test_create_brand_is_all_or_nothing(world):
    from caredoor.core.brands.actions import do_create_brand
    from caredoor.core.brands.models import Brand

    before = Brand.objects.count()
    with pytest.raises(ValidationError):
        do_create_brand(
            network=world.a.network,
            slug="dup",
            fields=factories.brand_fields(),
            primary_host="a.test",
        )
    assert Brand.objects.count() == before
