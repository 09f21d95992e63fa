"""The brand's specialist directory: who patients can find here, and their public profiles.

Public brands show it to everyone; private programs only to their own signed-in patients.
Every read goes through ``public_profiles_on`` / ``access_public_profile``: only approved,
published profiles with an approved listing on this brand exist here, everything else is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from caredoor.core.accounts.policy import Portal
from caredoor.core.accounts.queries import portal_memberships
from caredoor.core.compliance.uploads import file_response
from caredoor.core.specialists.queries import (
    access_public_profile,
    public_listings_on,
    public_profiles_on,
)
from caredoor.portals.common.access import PortalContext, portal_view, session_key
from caredoor.portals.common.specialist_public import present_published


def directory_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Public on public brands (a patient signed in here still gets the patient navigation);
    on private brands the patient portal's own rules apply (sign-in, patient role)."""
    private_view = portal_view(Portal.PATIENT)(
        lambda request, ctx, *args, **kwargs: view(request, *args, **kwargs)
    )

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        brand = getattr(request, "brand", None)
        if brand is None:
            raise Http404
        if brand.is_private:
            return private_view(request, *args, **kwargs)
        options = portal_memberships(request.user, brand, Portal.PATIENT)
        if options:
            preferred = request.session.get(session_key(Portal.PATIENT))
            membership = next((m for m in options if m.pk == preferred), options[0])
            request.portal = PortalContext(  # type: ignore[attr-defined]
                portal=Portal.PATIENT, brand=brand, membership=membership, memberships=options
            )
        return view(request, *args, **kwargs)

    return wrapper


def _photo_url(profile_id: int) -> str:
    return reverse("patient:specialist_photo", args=[profile_id])


@require_GET
@directory_view
def specialist_list(request: HttpRequest) -> HttpResponse:
    brand = request.brand  # type: ignore[attr-defined]
    published = list(public_profiles_on(brand))
    listings = public_listings_on(brand, [p.profile_id for p in published])
    specialists = [
        present_published(
            p,
            brand,
            listing=listings.get(p.profile_id),
            photo_url=_photo_url(p.profile_id),
            detail_url=reverse("patient:specialist", args=[p.profile_id]),
        )
        for p in published
    ]
    return render(request, "patient/specialist_list.html", {"specialists": specialists})


@require_GET
@directory_view
def specialist_detail(request: HttpRequest, profile_id: int) -> HttpResponse:
    brand = request.brand  # type: ignore[attr-defined]
    published = access_public_profile(brand, profile_id)
    listing = public_listings_on(brand, [profile_id]).get(profile_id)
    sp = present_published(published, brand, listing=listing, photo_url=_photo_url(profile_id))
    return render(request, "patient/specialist_detail.html", {"sp": sp})


@require_GET
@directory_view
def specialist_photo(request: HttpRequest, profile_id: int) -> HttpResponse:
    """The approved photo only, and only where the profile is visible; else 404."""
    published = access_public_profile(request.brand, profile_id)  # type: ignore[attr-defined]
    if published.photo is None:
        raise Http404
    return file_response(published.photo, inline=True)
