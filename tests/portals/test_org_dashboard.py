"""The organization portal's dashboard: the network for operators, the organization else."""

from __future__ import annotations

import re

import pytest

from caredoor.core.brands.actions import do_update_brand
from caredoor.core.compliance.models import AuditEvent


def test_operator_dashboard_counts_the_network_and_shows_the_latest_events(world, client_for):
    do_update_brand(
        world.a.sister, {"tagline": "Fresh"}, actor=world.a.operator, actor_role="operator"
    )
    response = client_for(world.a.operator, world.a.brand).get("/org/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Network-A" in body
    assert re.search(r'<p class="stat">2</p><p class="stat-label">brands \(2 active\)', body)
    assert re.search(r'<p class="stat">2</p><p class="stat-label">organizations', body)
    assert re.search(r'<p class="stat">7</p><p class="stat-label">people with roles', body)
    assert '<th scope="row">Finance</th><td class="num">1</td>' in body
    assert '<th scope="row">Operator</th><td class="num">1</td>' in body
    shown = [int(n) for n in re.findall(r'<span class="seq">#(\d+)</span>', body)]
    assert len(shown) == 5
    assert shown[0] == AuditEvent.objects.filter(action="brand.updated").latest("seq").seq
    assert "<dt>tagline</dt><dd>“” → Fresh</dd>" in body
    assert "Brand B" not in body and ".b@example.test" not in body
    assert 'href="/org/audit/"' in body and 'href="/org/brands/new/"' in body


def test_operator_dashboard_on_the_platform_host(world, client_for):
    response = client_for(world.a.operator, None, host="localhost").get("/org/")
    assert response.status_code == 200
    assert "Network-A" in response.content.decode()


@pytest.mark.parametrize("role", ["org_admin", "org_staff", "finance"])
def test_organization_roles_see_their_organization(world, client_for, role):
    response = client_for(world.a.people[role], world.a.brand).get("/org/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Clinic A" in body
    assert "Brand A" in body and "Sister A" not in body  # the clinic serves brand A only
    assert re.search(r'<p class="stat">3</p><p class="stat-label">people with roles', body)
    assert "Latest events" not in body
    assert ('href="/org/members/"' in body) == (role == "org_admin")
