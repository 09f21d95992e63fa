"""The operator console: the audit trail of one's own network, its filters and the chain."""

from __future__ import annotations

import re
import zoneinfo
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from caredoor.core.accounts.actions import do_revoke_membership
from caredoor.core.brands.actions import do_add_domain, do_update_brand
from caredoor.core.compliance.models import AuditEvent
from caredoor.core.compliance.queries import audit_events
from caredoor.core.organizations.actions import do_create_organization

DENIED = {403, 404}


def seqs(response) -> list[int]:
    return [
        int(n) for n in re.findall(r'<span class="seq">#(\d+)</span>', response.content.decode())
    ]


def network_b_activity(world) -> None:
    """Events of network B: on its brand, and without any brand (organization level)."""
    do_update_brand(
        world.b.brand,
        {"tagline": "B's secret tagline"},
        actor=world.b.operator,
        actor_role="operator",
    )
    do_revoke_membership(
        world.b.org_staff.memberships.get(), actor=world.b.operator, actor_role="operator"
    )
    do_create_organization(
        network=world.b.network, kind="employer", name="Secret Employer B", slug="b-emp", brands=[]
    )


def test_the_trail_shows_the_network_and_never_another_networks_events(world, client_for):
    network_b_activity(world)
    do_update_brand(
        world.a.sister, {"tagline": "A's tagline"}, actor=world.a.operator, actor_role="operator"
    )
    response = client_for(world.a.operator, world.a.brand).get("/org/audit/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "A&#x27;s tagline" in body
    assert "Clinic A" in body  # organization.created, an event with no brand
    assert "org_staff.a@example.test" in body  # the role granted in the clinic
    for secret in ["B&#x27;s secret tagline", "Secret Employer B", "Brand B", ".b@example.test"]:
        assert secret not in body, secret
    shown = set(seqs(response))
    visible_to_b = set(audit_events(network_id=world.b.network.pk).values_list("seq", flat=True))
    assert shown and not shown & visible_to_b


def test_every_event_belongs_to_at_most_one_network(world):
    network_b_activity(world)
    a = set(audit_events(network_id=world.a.network.pk).values_list("seq", flat=True))
    b = set(audit_events(network_id=world.b.network.pk).values_list("seq", flat=True))
    assert a and b and not a & b
    revoked = AuditEvent.objects.get(action="membership.revoked")
    assert revoked.brand_id is None and revoked.seq in b
    # Filtering by a brand of another network narrows to nothing.
    assert not audit_events(network_id=world.a.network.pk, brand_id=world.b.brand.pk).exists()


def test_filters_narrow_the_trail(world, client_for):
    do_update_brand(
        world.a.sister, {"name": "Sister Renamed"}, actor=world.a.operator, actor_role="operator"
    )
    do_add_domain(world.a.brand, "alias-a.test", actor=world.a.operator, actor_role="operator")
    client = client_for(world.a.operator, world.a.brand)

    def actions(query: str) -> set[str]:
        response = client.get(f"/org/audit/?{query}")
        assert response.status_code == 200
        return set(
            AuditEvent.objects.filter(seq__in=seqs(response)).values_list("action", flat=True)
        )

    assert actions("action=brand.") == {"brand.created", "brand.updated"}
    assert actions("action=domain.added") == {"domain.added"}
    assert actions("actor=OPERATOR.a@") == {"brand.updated", "domain.added"}
    assert actions("target=renamed") == {"brand.updated"}
    assert actions(f"brand={world.a.brand.pk}&action=domain") == {"domain.added"}
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo("Europe/Berlin"))
    assert "brand.updated" in actions(f"date_from={today}&date_to={today}")
    assert actions(f"date_from={today + timedelta(days=1)}") == set()
    assert actions(f"date_to={today - timedelta(days=1)}") == set()


def test_the_data_of_an_event_is_shown_compactly(world, client_for):
    do_update_brand(
        world.a.sister, {"name": "Sister Renamed"}, actor=world.a.operator, actor_role="operator"
    )
    body = client_for(world.a.operator, world.a.brand).get("/org/audit/?action=brand.updated")
    assert "<dt>name</dt><dd>Sister A → Sister Renamed</dd>" in body.content.decode()
    assert "Operator" in body.content.decode()  # the role, by its label


def test_bad_filters_get_field_errors(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    response = client.get(f"/org/audit/?date_from=yesterday&brand={world.b.brand.pk}")
    assert response.status_code == 200
    body = response.content.decode()
    assert re.search(r'id="id_date_from_error"', body)
    assert re.search(r'id="id_brand_error"', body)
    assert "Brand B" not in body
    response = client.get("/org/audit/?date_from=2026-05-02&date_to=2026-05-01")
    assert "before the start date" in response.content.decode()


def test_filters_survive_paging(world, client_for):
    for n in range(55):
        do_update_brand(
            world.a.sister, {"tagline": f"take {n}"}, actor=world.a.operator, actor_role="operator"
        )
    client = client_for(world.a.operator, world.a.brand)
    first = client.get("/org/audit/?action=brand.updated&actor=operator")
    assert len(seqs(first)) == 50
    body = first.content.decode()
    assert "Page 1 of 2" in body
    next_link = re.search(r'href="([^"]*)" rel="next"', body).group(1).replace("&amp;", "&")
    assert "action=brand.updated" in next_link and "actor=operator" in next_link
    assert "page=2" in next_link
    second = client.get(f"/org/audit/{next_link}")
    assert len(seqs(second)) == 5
    assert set(seqs(first)).isdisjoint(seqs(second))
    shown = AuditEvent.objects.filter(seq__in=seqs(first) + seqs(second))
    assert set(shown.values_list("action", flat=True)) == {"brand.updated"}
    assert 'href="?action=brand.updated&amp;actor=operator&amp;page=1" rel="prev"' in (
        second.content.decode()
    )


def test_times_are_shown_in_the_viewers_zone(world, client_for):
    world.a.operator.time_zone = "America/New_York"
    world.a.operator.save()
    event = audit_events(network_id=world.a.network.pk).first()  # the newest one shown
    local = timezone.localtime(event.created_at, zoneinfo.ZoneInfo("America/New_York"))
    body = client_for(world.a.operator, world.a.brand).get("/org/audit/").content.decode()
    assert "America/New_York" in body
    assert local.strftime("%H:%M:%S") in body
    assert f'datetime="{local.strftime("%Y-%m-%dT%H:%M:%S")}' in body


def test_verify_chain_reports_ok_then_the_first_broken_event(world, client_for):
    client = client_for(world.a.operator, world.a.brand)
    assert "Chain OK" not in client.get("/org/audit/").content.decode()
    response = client.post("/org/audit/?action=brand.")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Chain OK" in body
    assert "Chain broken" not in body
    assert set(
        AuditEvent.objects.filter(seq__in=seqs(response)).values_list("action", flat=True)
    ) == {"brand.created"}  # the filters still apply
    with connection.cursor() as cursor:
        cursor.execute("UPDATE compliance_auditevent SET action='x' WHERE seq=1")
    body = client.post("/org/audit/").content.decode()
    assert "Chain broken" in body
    assert "first broken event: #1 (event content was changed)" in body


def test_verifying_is_a_post_with_a_csrf_token(world, client_for):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True, HTTP_HOST="a.test")
    strict.force_login(world.a.operator)
    assert strict.post("/org/audit/").status_code == 403
    page = strict.get("/org/audit/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page


@pytest.mark.parametrize(
    "role", ["org_admin", "org_staff", "finance", "patient", "specialist", "affiliate", "outsider"]
)
def test_only_operators_see_the_audit_trail(world, client_for, role):
    user = world.outsider if role == "outsider" else world.a.people[role]
    client = client_for(user, world.a.brand)
    assert client.get("/org/audit/").status_code in DENIED
    response = client.post("/org/audit/")
    assert response.status_code in DENIED
    assert "Chain" not in response.content.decode()


def test_another_networks_operator_sees_only_their_own(world, client_for):
    body = client_for(world.b.operator, world.b.brand).get("/org/audit/").content.decode()
    assert "Brand B" in body
    assert "Brand A" not in body and ".a@example.test" not in body
