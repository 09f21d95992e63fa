"""The specialist's preview of their public profile on each brand of their network.

Built with the patient page's own presenter and template (``portals/common``), so the
preview shows exactly what patients of that brand get: the approved version, at that
brand's price. Before the first approval it shows the working copy, marked as not visible.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from caredoor.core.accounts.policy import Portal
from caredoor.core.compliance.uploads import file_response
from caredoor.core.specialists.choices import ProfileStatus
from caredoor.core.specialists.queries import (
    access_listing_brand,
    is_public_on,
    listing_brands,
    listings_of,
    own_profile,
    published_version,
)
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.specialist_public import present_published, present_working_copy

PORTAL = Portal.SPECIALIST


@require_GET
@portal_view(PORTAL)
def preview(request: HttpRequest, ctx: PortalContext, brand_id: int) -> HttpResponse:
    profile = own_profile(request.user, ctx.membership.network_id)
    if profile is None:
        return redirect("specialist:dashboard")
    brand = access_listing_brand(profile, brand_id)
    listing = listings_of(profile).filter(brand=brand).first()
    published = published_version(profile)
    photo_url = reverse("specialist:preview_photo")
    if published is not None:
        photo_url += f"?v={published.photo_id}" if published.photo_id else ""
        sp = present_published(published, brand, listing=listing, photo_url=photo_url)
    else:
        photo_url += f"?v={profile.photo_id}" if profile.photo_id else ""
        sp = present_working_copy(profile, brand, listing=listing, photo_url=photo_url)
    context = {
        "ctx": ctx,
        "sp": sp,
        "preview_brand": brand,
        "brands": list(listing_brands(profile)),
        "listing": listing,
        "published": published,
        "visible": published is not None and is_public_on(brand, profile),
        "update_pending": published is not None and profile.status == ProfileStatus.SUBMITTED,
        "here": brand.pk == getattr(ctx.brand, "pk", None),
    }
    return render(request, "specialist/preview.html", context)


@require_GET
@portal_view(PORTAL)
def preview_photo(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """The photo the preview shows: the approved one, or before approval the working one."""
    profile = own_profile(request.user, ctx.membership.network_id)
    if profile is None:
        raise Http404
    published = published_version(profile)
    stored = published.photo if published is not None else profile.photo
    if stored is None:
        raise Http404
    return file_response(stored, inline=True)
