"""``{% package_link profile_id %}``: a link to a specialist's packages on the booking
pages, shown only when that specialist has packages on offer on this brand or the patient
has one with them."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from caredoor.core.payments.models import PackageOffer, PackagePurchase

register = template.Library()


@register.simple_tag(takes_context=True)
def package_link(context: dict[str, Any], profile_id: int) -> str:
    request = context.get("request")
    brand = getattr(request, "brand", None)
    if brand is None or not profile_id:
        return ""
    offered = PackageOffer.objects.filter(
        brand=brand, profile_id=profile_id, is_active=True, currency=brand.currency
    ).exists()
    user = getattr(request, "user", None)
    owned = bool(getattr(user, "is_authenticated", False)) and (
        PackagePurchase.objects.filter(patient=user, brand=brand, profile_id=profile_id)
        .exclude(status="pending")
        .exists()
    )
    if not offered and not owned:
        return ""
    return format_html(
        '<p class="pk-link"><a href="{}">{}</a></p>',
        reverse("patient:packages", args=[profile_id]),
        _("See your packages with this specialist")
        if owned
        else _("Booking several sessions? See the packages on offer"),
    )
