import pytest

from caredoor.core.compliance.models import AuditEvent


@pytest.mark.parametrize(
    "path", ["/account/", "/specialist/account/", "/partners/account/", "/org/account/"]
)
def test_every_portal_has_account_settings(world, client_for, path):
    role = {
        "/account/": "patient",
        "/specialist/account/": "specialist",
        "/partners/account/": "affiliate",
        "/org/account/": "org_admin",
    }[path]
    page = client_for(world.a.people[role], world.a.brand).get(path).content.decode()
    for label in [
        'for="id_name"',
        'for="id_phone"',
        'for="id_time_zone"',
        'for="id_language"',
        "/accounts/password/change/",
        "/accounts/2fa/",
    ]:
        assert label in page


def test_saving_the_profile_normalizes_and_audits_field_names_only(world, client_for):
    client = client_for(world.a.patient, world.a.brand)
    response = client.post(
        "/account/",
        {
            "name": "Ana Example",
            "phone": "+49 30 901820",
            "time_zone": "America/New_York",
            "language": "de",
        },
    )
    assert response.status_code == 302
    user = world.a.patient
    user.refresh_from_db()
    assert (user.name, user.phone, user.time_zone, user.language) == (
        "Ana Example",
        "+4930901820",
        "America/New_York",
        "de",
    )
    event = AuditEvent.objects.filter(action="profile.updated").latest("seq")
    assert event.data == {"fields": ["name", "phone", "time_zone", "language"]}
    assert "+4930901820" not in str(event.data)
    # The chosen language now renders the pages.
    assert '<html lang="de">' in client.get("/account/").content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [("phone", "12345"), ("phone", "call me"), ("time_zone", "Mars/Base"), ("language", "fr")],
)
def test_bad_profile_input_is_refused_and_changes_nothing(world, client_for, field, value):
    client = client_for(world.a.patient, world.a.brand)
    data = {"name": "Changed", "phone": "", "time_zone": "", "language": "", field: value}
    events = AuditEvent.objects.count()
    response = client.post("/account/", data)
    assert response.status_code == 200
    assert 'class="errorlist"' in response.content.decode()
    world.a.patient.refresh_from_db()
    assert world.a.patient.name != "Changed"
    assert AuditEvent.objects.count() == events
