import pytest
from django.apps import apps
from django.core.management import call_command

from caredoor.core.accounts.models import Membership
from caredoor.core.brands.queries import brand_for_host
from caredoor.core.compliance.audit import verify_chain
from caredoor.demo import data


def _counts() -> dict[str, int]:
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label in {"brands", "organizations", "accounts", "compliance", "mfa"}
    }


@pytest.mark.django_db
def test_seed_builds_the_demo_network_and_running_it_again_changes_nothing(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = _counts()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _counts() == first
    for spec in data.BRANDS:
        for host in spec["hosts"]:
            assert brand_for_host(host).slug == spec["slug"]
    assert brand_for_host("northwind.localhost").is_private
    for email, _name, role, _scope in data.PEOPLE:
        assert Membership.objects.active().filter(user__email=email, role=role).count() == 1
    assert verify_chain().ok


@pytest.mark.django_db
def test_every_demo_person_reaches_their_portal(tmp_path, settings, client):
    from caredoor.core.accounts.policy import PORTAL_PATHS, portal_of_role

    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    homes = {
        "harbor": "harbor.localhost",
        "steadypath": "steadypath.localhost",
        "northwind": "northwind.localhost",
        "lindenhof-clinic": "harbor.localhost",
        "northwind-logistics": "northwind.localhost",
        "demo-operator": "harbor.localhost",
        None: "steadypath.localhost",
    }
    from caredoor.core.accounts.models import User

    for email, _name, role, scope in data.PEOPLE:
        client.force_login(User.objects.get(email=email))
        path = PORTAL_PATHS[portal_of_role(role)]
        response = client.get(path if path != "/" else "/account/", HTTP_HOST=homes[scope])
        assert response.status_code == 200, (email, path)
        client.logout()
