import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from caredoor.core.accounts.models import Membership
from caredoor.core.brands.queries import brand_for_host


@pytest.mark.django_db
def test_bootstrap_creates_a_working_network(monkeypatch, client):
    monkeypatch.setattr(
        "caredoor.core.accounts.management.commands.bootstrap_network.getpass",
        lambda prompt: "a-long-operator-pass-1",
    )
    call_command(
        "bootstrap_network",
        network="Acme Care",
        brand="Acme Therapy",
        host="care.acme.example",
        operator_email="Ops@Acme.example",
    )
    brand = brand_for_host("care.acme.example")
    assert brand.name == "Acme Therapy"
    membership = Membership.objects.get(user__email="ops@acme.example")
    assert membership.role == "operator" and membership.organization.is_operator
    client.login(email="ops@acme.example", password="a-long-operator-pass-1")
    # Two-factor set-up comes first for an operator.
    response = client.get("/org/", HTTP_HOST="care.acme.example")
    assert response.status_code == 302 and "/2fa/totp/activate/" in response["Location"]


@pytest.mark.django_db
def test_bootstrap_with_a_taken_host_writes_nothing(world, monkeypatch):
    monkeypatch.setattr(
        "caredoor.core.accounts.management.commands.bootstrap_network.getpass",
        lambda prompt: "a-long-operator-pass-1",
    )
    with pytest.raises(CommandError, match="already in use"):
        call_command(
            "bootstrap_network",
            network="Dup",
            brand="Dup",
            host="a.test",
            operator_email="x@example.test",
        )
    from caredoor.core.brands.models import Network

    assert not Network.objects.filter(slug="dup").exists()
