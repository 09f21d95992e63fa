"""The operator sets a brand's payment settings on its page: commission, free first
session, how long a time is held while the patient pays; bad values change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from caredoor.core.brands.models import Brand
from tests.portals.test_org_brands import edit_url, errors_of, form_data

pytestmark = pytest.mark.django_db


def test_the_operator_sets_commission_free_first_session_and_hold(world, client_for):
    brand = world.a.brand
    client = client_for(world.a.operator, world.a.brand)
    body = client.get(edit_url(brand)).content.decode()
    assert "Platform commission (percent)" in body and 'value="20.00"' in body
    client.post(
        edit_url(brand),
        form_data(
            brand,
            commission_percent="12.5",
            free_first_session="on",
            checkout_hold_minutes="30",
        ),
    )
    brand.refresh_from_db()
    assert (brand.commission_percent, brand.free_first_session, brand.checkout_hold_minutes) == (
        Decimal("12.5"),
        True,
        30,
    )


@pytest.mark.parametrize(
    ("field", "value"), [("commission_percent", "150"), ("checkout_hold_minutes", "2")]
)
def test_a_bad_payment_setting_changes_nothing(world, client_for, field, value):
    brand = world.a.brand
    before = Brand.objects.filter(pk=brand.pk).values().get()
    client = client_for(world.a.operator, world.a.brand)
    answer = client.post(edit_url(brand), form_data(brand, **{field: value}))
    assert answer.status_code == 400 or errors_of(answer, field)
    assert errors_of(answer, field)
    assert Brand.objects.filter(pk=brand.pk).values().get() == before
