"""The dashboard's "Recent transactions" card (``specialist/transactions/_dashboard_card.html``):

``{% recent_transactions profile as recent %}`` gives the specialist's last five payments
and refunds (``core.payments.reports``) and the zone to show them in, or None when they
have never been paid, so the card appears only for specialists who take payments. A tag,
so the dashboard needs no change to its view: reads only.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from caredoor.core.payments import reports
from caredoor.core.specialists.models import SpecialistProfile

register = template.Library()

RECENT = 5


@dataclass(frozen=True)
class Recent:
    rows: list[reports.Row]
    zone: str


@register.simple_tag
def recent_transactions(profile: SpecialistProfile | None) -> Recent | None:
    if profile is None or not reports.has_payments(profile):
        return None
    rows = reports.recent(profile, RECENT)
    return Recent(rows=rows, zone=reports.zone_of(profile).key)
