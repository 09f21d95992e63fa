"""Onboarding configuration in the operator console: the step editor for the network and
per brand (own steps or the network's, and back), its validation, and the network's terms."""

from __future__ import annotations

from typing import Any

import pytest

from caredoor.core.compliance.models import AuditEvent
from caredoor.core.specialists.choices import DEFAULT_STEPS, PROFILE_FIELDS, TermKind
from caredoor.core.specialists.models import OnboardingScheme, Term
from caredoor.core.specialists.scheme import scheme_for
from tests.portals.org_specialist_data import audit_count, specialist

DENIED = {403, 404}
SLOTS = 8


def form_data(steps: list[dict], **overrides: Any) -> dict[str, str]:
    """The editor as the browser submits it for ``steps`` (slot i holds step i)."""
    data: dict[str, str] = {}
    for i in range(1, SLOTS + 1):
        step = steps[i - 1] if i <= len(steps) else None
        data[f"step{i}_key"] = step["key"] if step else ""
        data[f"step{i}_title"] = step["title"] if step else ""
        data[f"step{i}_position"] = str(i)
    for name in PROFILE_FIELDS:
        slot = next((i for i, s in enumerate(steps, 1) if name in s["fields"]), None)
        data[f"field_{name}_step"] = str(slot) if slot else ""
        if any(name in s["required"] for s in steps):
            data[f"field_{name}_required"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def schemes() -> list[tuple]:
    return list(OnboardingScheme.objects.values_list("network_id", "brand_id", "steps"))


def test_overview_shows_the_network_and_each_brand_and_where_their_steps_come_from(
    world, client_for
):
    client = client_for(world.a.operator, world.a.brand)
    body = client.get("/org/onboarding/").content.decode()
    assert "Caredoor's default steps" in body
    assert body.count("Uses the network's steps") == 2  # Brand A and Sister A
    assert "Basics" in body and "Name shown to patients" in body
    assert "Brand B" not in body
    editor = client.get("/org/onboarding/network/").content.decode()
    assert 'name="step1_title" value="Basics"' in editor
    assert 'name="step6_title"' in editor and 'name="step9_title"' not in editor


def test_saving_the_default_steps_unchanged_keeps_them(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    response = client.post("/org/onboarding/network/", form_data(DEFAULT_STEPS))
    assert response.status_code == 302
    assert OnboardingScheme.objects.get(network=world.a.network, brand=None).steps == DEFAULT_STEPS
    assert AuditEvent.objects.filter(action="onboarding.scheme_saved").count() == 1


def test_rename_reorder_add_and_remove_steps_and_change_required(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    data = form_data(
        DEFAULT_STEPS,
        step1_title="About you",  # renamed, key kept
        step2_position="3",  # practice after qualifications
        step3_position="2",
        step6_title="Introduce yourself",  # a new step in an empty slot
        field_intro_video_url_step="6",
        field_intro_video_url_required="on",
        field_documents_step="4",  # documents join the public profile step ...
        step5_title="",  # ... and the credentials step, now empty, goes
        field_phone_step="",  # not asked any more
        field_phone_required=None,
        field_professional_title_required="on",
    )
    response = client.post("/org/onboarding/network/", data)
    assert response.status_code == 302, response.content.decode()
    steps = OnboardingScheme.objects.get(network=world.a.network, brand=None).steps
    assert [(s["key"], s["title"]) for s in steps] == [
        ("basics", "About you"),
        ("expertise", "Qualifications"),
        ("practice", "Practice"),
        ("profile", "Public profile"),
        ("introduce_yourself", "Introduce yourself"),
    ]
    assert steps[0]["fields"] == ["display_name", "professional_title", "time_zone"]
    assert steps[0]["required"] == ["display_name", "professional_title", "time_zone"]
    assert steps[3]["fields"] == ["bio", "photo", "documents"]
    assert steps[4] == {
        "key": "introduce_yourself",
        "title": "Introduce yourself",
        "fields": ["intro_video_url"],
        "required": ["intro_video_url"],
    }
    assert scheme_for(world.a.network, world.a.sister)[0].key == "basics"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"field_phone_step": ""},  # phone stays required
            "“Phone” is required but no step asks for it",
        ),
        (
            {"step6_title": "Empty"},
            "The step “Empty” asks for nothing: give it fields, or clear its title.",
        ),
        (
            {"field_display_name_step": "", "field_display_name_required": None},
            "Onboarding must ask for the name shown to patients.",
        ),
        (
            {"step5_title": ""},  # documents still in the removed step
            "Slot 5 has no title: give it one, or choose another step.",
        ),
        ({"step1_position": ""}, "Give every slot an order number."),
        ({"field_bio_step": "12"}, "Select a valid choice."),
        ({"step1_key": "no spaces!"}, "Each step needs its own short key"),
    ],
)
def test_invalid_steps_are_refused_and_nothing_is_saved(world, client_for, overrides, message):
    client = client_for(world.a.operator, world.a.brand)
    events = audit_count()
    response = client.post("/org/onboarding/network/", form_data(DEFAULT_STEPS, **overrides))
    assert response.status_code == 400
    body = response.content.decode().replace("&quot;", '"')
    assert message in body
    assert "Nothing was saved." in body
    assert schemes() == [] and audit_count() == events


def test_a_brand_gets_steps_of_its_own_and_goes_back_to_the_networks(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    url = f"/org/onboarding/brands/{world.a.sister.pk}/"
    page = client.get(url).content.decode()
    assert "Saving gives this brand steps of its own." in page
    assert "/reset/" not in page

    response = client.post(url, form_data(DEFAULT_STEPS, step1_title="Sister basics"))
    assert response.status_code == 302 and response["Location"] == url
    assert OnboardingScheme.objects.filter(brand=world.a.sister).exists()
    assert not OnboardingScheme.objects.filter(brand__isnull=True).exists()
    assert scheme_for(world.a.network, world.a.sister)[0].title == "Sister basics"
    assert scheme_for(world.a.network, world.a.brand)[0].title == "Basics"
    overview = client.get("/org/onboarding/").content.decode()
    assert overview.count("Own steps") == 1 and "Sister basics" in overview

    page = client.get(url).content.decode()
    assert f'action="/org/onboarding/brands/{world.a.sister.pk}/reset/"' in page
    response = client.post(f"{url}reset/")
    assert response.status_code == 302
    assert not OnboardingScheme.objects.filter(brand=world.a.sister).exists()
    assert scheme_for(world.a.network, world.a.sister)[0].title == "Basics"
    assert AuditEvent.objects.filter(action="onboarding.scheme_reset").count() == 1


def test_the_network_can_go_back_to_the_default_steps(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    client.post("/org/onboarding/network/", form_data(DEFAULT_STEPS, step1_title="Start"))
    assert scheme_for(world.a.network, None)[0].title == "Start"
    assert client.post("/org/onboarding/network/reset/").status_code == 302
    assert scheme_for(world.a.network, None)[0].title == "Basics"


def test_another_networks_brand_is_not_found(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    url = f"/org/onboarding/brands/{world.b.brand.pk}/"
    assert client.get(url).status_code == 404
    assert client.post(url, form_data(DEFAULT_STEPS)).status_code == 404
    assert client.post(f"{url}reset/").status_code == 404
    assert schemes() == []


@pytest.mark.parametrize(
    "who",
    ["org_admin", "org_staff", "finance", "patient", "specialist", "affiliate", "outsider"],
)
def test_only_operators_configure_onboarding(world, client_for, who):
    user = world.outsider if who == "outsider" else world.a.people[who]
    client = client_for(user, world.a.brand)
    term = Term.objects.create(network=world.a.network, kind="category", slug="x", name="X")
    events = audit_count()
    for url in ["/org/onboarding/", "/org/onboarding/network/", "/org/onboarding/terms/"]:
        assert client.get(url).status_code in DENIED
    assert client.post("/org/onboarding/network/", form_data(DEFAULT_STEPS)).status_code in DENIED
    url = f"/org/onboarding/brands/{world.a.brand.pk}/"
    assert client.post(url, form_data(DEFAULT_STEPS)).status_code in DENIED
    assert (
        client.post("/org/onboarding/terms/add/", {"kind": "category", "name": "Y"}).status_code
        in DENIED
    )
    assert (
        client.post(f"/org/onboarding/terms/{term.pk}/rename/", {"name": "Z"}).status_code in DENIED
    )
    assert client.post(f"/org/onboarding/terms/{term.pk}/delete/").status_code in DENIED
    assert schemes() == []
    assert list(Term.objects.values_list("name", flat=True)) == ["X"]
    assert audit_count() == events


# --- terms ----------------------------------------------------------------------------------------


def test_add_rename_and_delete_terms(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    response = client.post(
        "/org/onboarding/terms/add/", {"kind": "specialization", "name": " Trauma  care "}
    )
    assert response.status_code == 302
    term = Term.objects.get(network=world.a.network, kind=TermKind.SPECIALIZATION)
    assert (term.name, term.slug) == ("Trauma care", "trauma-care")
    body = client.get("/org/onboarding/terms/").content.decode()
    assert 'value="Trauma care"' in body and "used by 0 profiles" in body

    events = audit_count()
    response = client.post(
        "/org/onboarding/terms/add/", {"kind": "specialization", "name": "trauma CARE"}
    )
    assert response.status_code == 400
    assert "There is already a specialization called “trauma CARE”." in response.content.decode()
    response = client.post("/org/onboarding/terms/add/", {"kind": "category", "name": ""})
    assert response.status_code == 400
    assert Term.objects.count() == 1 and audit_count() == events

    response = client.post(f"/org/onboarding/terms/{term.pk}/rename/", {"name": "Trauma"})
    assert response.status_code == 302
    term.refresh_from_db()
    assert (term.name, term.slug) == ("Trauma", "trauma-care")  # the slug stays
    assert AuditEvent.objects.filter(action="term.renamed").count() == 1

    response = client.post(f"/org/onboarding/terms/{term.pk}/delete/")
    assert response.status_code == 302
    assert not Term.objects.filter(pk=term.pk).exists()
    assert [
        e.action for e in AuditEvent.objects.filter(action__startswith="term.").order_by("seq")
    ] == [
        "term.added",
        "term.renamed",
        "term.deleted",
    ]


def test_a_term_in_use_cannot_be_deleted(world, client_for):
    profile = specialist(world.a.brand, "uses@example.test", name="Dr. Uses")
    term = profile.specializations.get()
    client = client_for(world.a.operator, world.a.brand)
    body = client.get("/org/onboarding/terms/").content.decode()
    assert "used by 1 profile<" in body
    assert f'action="/org/onboarding/terms/{term.pk}/delete/"' not in body  # no button
    events = audit_count()
    response = client.post(f"/org/onboarding/terms/{term.pk}/delete/", follow=True)
    assert "“Anxiety” is used by 1 specialist profile and cannot be deleted." in (
        response.content.decode()
    )
    assert Term.objects.filter(pk=term.pk).exists() and audit_count() == events


def test_another_networks_terms_are_not_found(world, client_for):
    theirs = Term.objects.create(network=world.b.network, kind="category", slug="b", name="B term")
    client = client_for(world.a.operator, world.a.brand)
    assert "B term" not in client.get("/org/onboarding/terms/").content.decode()
    assert (
        client.post(f"/org/onboarding/terms/{theirs.pk}/rename/", {"name": "Mine"}).status_code
        == 404
    )
    assert client.post(f"/org/onboarding/terms/{theirs.pk}/delete/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "B term"
