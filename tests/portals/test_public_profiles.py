"""What patients see: the brand's directory, public profiles and photos. Only approved
profiles with an approved listing on this brand exist; everything else is 404. The
specialist's preview renders the same presenter and template."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from caredoor.core.specialists import actions
from caredoor.core.specialists.choices import ProfileStatus
from tests import factories
from tests.specialist_helpers import (
    approved_and_listed,
    complete_profile,
    operator_membership,
    png_bytes,
)


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.content.decode()


def test_an_approved_listed_profile_appears_only_where_it_is_listed(world, client_for):
    profile, _listings = approved_and_listed(
        world.a, world.a.specialist, [world.a.brand], name="Dr. Visible"
    )
    visitor = client_for(None, world.a.brand)
    directory = visitor.get("/specialists/")
    assert directory.status_code == 200
    assert "Dr. Visible" in text(directory)
    assert f'href="/specialists/{profile.pk}/"' in text(directory)
    assert "90.00 EUR" in text(directory)
    page = visitor.get(f"/specialists/{profile.pk}/")
    assert page.status_code == 200
    body = text(page)
    for expected in (
        "Dr. Visible",
        "Psychotherapist",
        "I help adults with anxiety.",
        "Anxiety",
        "Depression",
        "CBT",
        "English",
        "German",
        "Therapy",
        "MSc Psychology",
        "FU Berlin",
        "2012",
        "Video",
        "Adults",
        "90.00 EUR",
        "https://vimeo.com/1",
    ):
        assert expected in body, expected
    photo = visitor.get(f"/specialists/{profile.pk}/photo/")
    assert photo.status_code == 200
    assert photo["Content-Type"] == "image/png"
    # Not listed on the sister brand (same network), nor anywhere in network B.
    for brand in (world.a.sister, world.b.brand):
        other = client_for(None, brand)
        assert "Dr. Visible" not in text(other.get("/specialists/"))
        assert other.get(f"/specialists/{profile.pk}/").status_code == 404
        assert other.get(f"/specialists/{profile.pk}/photo/").status_code == 404


@pytest.mark.parametrize("state", ["draft", "submitted", "changes_requested", "rejected"])
def test_an_unapproved_profile_is_404_on_every_brand(world, client_for, covered, state):
    brands = [world.a.brand, world.a.sister, covered]
    profile = complete_profile(world.a.specialist, world.a.brand, name="Dr. Hidden")
    operator = operator_membership(world.a)
    for brand in brands:  # even with approved listings everywhere
        listing = actions.do_request_listing(
            profile,
            brand,
            session_offer="Video",
            price_minor=9000 if actions.specialist_sets_price(profile, brand) else None,
            actor=world.a.specialist,
        )
        actions.do_set_listing_status(listing, "approved", actor=operator)
    if state != "draft":
        actions.do_submit(profile, actor=world.a.specialist)
    if state == "changes_requested":
        actions.do_review(
            profile, decision="request_changes", fields={"bio": "More"}, reviewer=operator
        )
    if state == "rejected":
        actions.do_review(profile, decision="reject", reason="No", reviewer=operator)
    profile.refresh_from_db()
    assert profile.status == state
    patient = factories.make_user("covered.patient@example.test")
    factories.grant(patient, "patient", network=world.a.network, brand=covered)
    for brand in brands:
        client = client_for(patient if brand == covered else None, brand)
        assert "Dr. Hidden" not in text(client.get("/specialists/"))
        assert client.get(f"/specialists/{profile.pk}/").status_code == 404
        assert client.get(f"/specialists/{profile.pk}/photo/").status_code == 404


def test_a_hidden_listing_or_a_revoked_specialist_disappears(world, client_for):
    profile, (listing,) = approved_and_listed(world.a, world.a.specialist, [world.a.brand])
    visitor = client_for(None, world.a.brand)
    assert visitor.get(f"/specialists/{profile.pk}/").status_code == 200
    actions.do_set_listing_status(listing, "hidden", actor=world.a.specialist.memberships.get())
    assert visitor.get(f"/specialists/{profile.pk}/").status_code == 404
    assert visitor.get(f"/specialists/{profile.pk}/photo/").status_code == 404


def test_the_public_photo_is_the_approved_one(world, client_for):
    profile, _ = approved_and_listed(world.a, world.a.specialist, [world.a.brand])
    published_photo = profile.published.photo
    client = client_for(world.a.specialist, world.a.brand)
    client.post(
        "/specialist/onboarding/profile/",
        {
            "bio": profile.bio,
            "intro_video_url": profile.intro_video_url,
            "photo": SimpleUploadedFile("new.png", png_bytes((80, 80), "#aa0000"), "image/png"),
            "action": "pause",
        },
    )
    profile.refresh_from_db()
    assert profile.photo_id != published_photo.pk
    assert profile.status == ProfileStatus.SUBMITTED
    public = client_for(None, world.a.brand).get(f"/specialists/{profile.pk}/photo/")
    own = client.get("/specialist/onboarding/photo/")
    assert public.content != own.content
    from caredoor.core.compliance.uploads import read_file

    assert public.content == read_file(published_photo)


def test_prices_follow_each_brands_pricing_mode(world, client_for, covered):
    fixed = factories.make_brand(
        world.a.network,
        "fixed-a.test",
        name="Fixed A",
        pricing_mode="brand_fixed",
        fixed_price_minor=6500,
        journey_mode="matching",
    )
    profile, _ = approved_and_listed(
        world.a, world.a.specialist, [world.a.brand, fixed, covered], price=12000
    )
    patient = factories.make_user("covered.patient@example.test")
    factories.grant(patient, "patient", network=world.a.network, brand=covered)
    expectations = [
        (world.a.brand, None, "120.00 EUR"),
        (fixed, None, "65.00 EUR"),
        (covered, patient, "Covered by your program"),
    ]
    for brand, user, price in expectations:
        client = client_for(user, brand)
        assert price in text(client.get("/specialists/")), brand
        body = text(client.get(f"/specialists/{profile.pk}/"))
        assert price in body
        if brand != world.a.brand:
            assert "120.00" not in body


def test_the_preview_renders_the_same_name_and_price_as_the_patient_page(world, client_for):
    fixed = factories.make_brand(
        world.a.network,
        "fixed-a.test",
        name="Fixed A",
        pricing_mode="brand_fixed",
        fixed_price_minor=6500,
    )
    profile, _ = approved_and_listed(
        world.a, world.a.specialist, [world.a.brand, fixed], name="Dr. Same", price=8800
    )
    specialist = client_for(world.a.specialist, world.a.brand)
    for brand in (world.a.brand, fixed):
        preview = text(specialist.get(f"/specialist/preview/{brand.pk}/"))
        public = text(client_for(None, brand).get(f"/specialists/{profile.pk}/"))
        article = re.compile(r'<article class="sp-profile card".*?</article>', re.S)
        preview_article = article.search(preview).group(0)
        public_article = article.search(public).group(0)
        # Only the photo address differs: the preview serves it through the owner's view.
        strip = re.compile(r'src="[^"]*"')
        assert strip.sub("", preview_article) == strip.sub("", public_article)
        assert "Dr. Same" in preview_article
        assert "Visible." in preview
    assert "88.00 EUR" in text(specialist.get(f"/specialist/preview/{world.a.brand.pk}/"))
    assert "65.00 EUR" in text(specialist.get(f"/specialist/preview/{fixed.pk}/"))
    # On the sister brand, where it is not listed, the preview says so.
    sister = text(specialist.get(f"/specialist/preview/{world.a.sister.pk}/"))
    assert "You are not listed on Sister A" in sister
    assert specialist.get("/specialist/preview/photo/").status_code == 200


def test_the_preview_before_approval_shows_the_draft_as_not_visible(world, client_for):
    complete_profile(world.a.specialist, world.a.brand, name="Dr. Draft")
    client = client_for(world.a.specialist, world.a.brand)
    body = text(client.get(f"/specialist/preview/{world.a.brand.pk}/"))
    assert "Not visible yet." in body
    assert "Dr. Draft" in body
    assert client.get("/specialist/preview/photo/").status_code == 200
    other = factories.make_user("no.photo@example.test")
    factories.grant(other, "specialist", network=world.a.network)
    actions.do_register_specialist(other, world.a.brand)
    assert client_for(other, world.a.brand).get("/specialist/preview/photo/").status_code == 404


def test_the_bio_is_sanitized_on_the_public_page(world, client_for):
    profile, _ = approved_and_listed(world.a, world.a.specialist, [world.a.brand])
    client = client_for(world.a.specialist, world.a.brand)
    client.post(
        "/specialist/onboarding/profile/",
        {
            "bio": 'Hi <script>alert(1)</script><a href="javascript:alert(2)">x</a> <b>bold</b>',
            "intro_video_url": "",
            "action": "pause",
        },
    )
    actions.do_review(profile, decision="approve", reviewer=operator_membership(world.a))
    body = text(client_for(None, world.a.brand).get(f"/specialists/{profile.pk}/"))
    assert "<script>alert(1)" not in body
    assert "javascript:" not in body
    assert "<b>bold</b>" in body


def test_the_private_brands_directory_needs_a_patient_of_that_brand(world, client_for, covered):
    profile, _ = approved_and_listed(world.a, world.a.specialist, [covered], name="Dr. Private")
    patient = factories.make_user("covered.patient@example.test")
    factories.grant(patient, "patient", network=world.a.network, brand=covered)
    visitor = client_for(None, covered)
    for path in (
        "/specialists/",
        f"/specialists/{profile.pk}/",
        f"/specialists/{profile.pk}/photo/",
    ):
        response = visitor.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        for user in (world.a.patient, world.a.specialist, world.a.operator, world.b.patient):
            assert client_for(user, covered).get(path).status_code == 403
        assert client_for(patient, covered).get(path).status_code == 200
    assert "Dr. Private" in text(client_for(patient, covered).get("/specialists/"))


def test_the_directory_is_in_the_patient_nav_on_directory_brands_only(world, client_for, covered):
    directory_nav = text(client_for(world.a.patient, world.a.brand).get("/specialists/"))
    assert 'href="/specialists/" aria-current="page"' in directory_nav
    patient = factories.make_user("covered.patient@example.test")
    factories.grant(patient, "patient", network=world.a.network, brand=covered)
    client = client_for(patient, covered)
    home = text(client.get("/"))
    assert '<li><a href="/specialists/"' not in home  # not in the nav on an assisted brand
    assert 'href="/specialists/"' in home  # still reachable from the home page
    assert client.get("/specialists/").status_code == 200
    landing = text(client_for(None, world.a.brand).get("/"))
    assert 'href="/specialists/"' in landing
    assert "No specialists are listed here yet." in text(
        client_for(None, world.a.sister).get("/specialists/")
    )
