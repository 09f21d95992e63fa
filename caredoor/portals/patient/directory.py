"""The brand's specialist directory: who patients can find here, and their public profiles.

Public brands show it to everyone; private programs only to their own signed-in patients.
Every read goes through ``public_profiles_on`` / ``access_public_profile``: only approved,
published profiles with an approved listing on this brand exist here, everything else is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import wraps
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from caredoor.core.accounts.policy import Portal
from caredoor.core.accounts.queries import portal_memberships
from caredoor.core.brands.models import Brand
from caredoor.core.compliance.uploads import file_response
from caredoor.core.matching import search
from caredoor.core.matching.search import FirstFree
from caredoor.core.specialists.pricing import ListingPrice
from caredoor.core.specialists.queries import access_public_profile, public_listings_on
from caredoor.portals.common.access import PortalContext, portal_view, session_key
from caredoor.portals.common.specialist_public import PublicSpecialist, present_published
from caredoor.portals.patient import booking_display as show
from caredoor.portals.patient.directory_forms import FILTER_PARAMS, DirectoryFilterForm


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


PER_PAGE = 12
# The most ids a compare address may carry (more are ignored before any lookup).
MAX_COMPARE_IDS = 10


@dataclass(frozen=True)
class Chip:
    """An active filter, as a link that removes it."""

    label: str
    url: str


@dataclass(frozen=True)
class Card:
    sp: PublicSpecialist
    first_free: str  # in the viewer's zone, "" when unknown or none
    book_url: str


def _valid_params(request: HttpRequest, form: DirectoryFilterForm) -> list[tuple[str, str]]:
    """The filters of the address whose values were accepted, in a fixed order: paging and
    chip links carry these (a rejected value is dropped from them)."""
    params: list[tuple[str, str]] = []
    for name in (*FILTER_PARAMS, "sort"):
        if name not in form.fields or name in form.errors:
            continue
        for value in request.GET.getlist(name):
            if value.strip():
                params.append((name, value.strip()))
    return params


def _address(params: list[tuple[str, str]], **extra: object) -> str:
    pairs = [*params, *((k, str(v)) for k, v in extra.items() if v not in (None, ""))]
    return f"?{urlencode(pairs)}" if pairs else "?"


def _money(brand: Brand, amount: Decimal) -> str:
    minor = int(amount.scaleb(search.currency_exponent(brand)))
    return ListingPrice(minor, brand.currency, covered=False, source="").display


def _chips(form: DirectoryFilterForm, params: list[tuple[str, str]]) -> list[Chip]:
    data = form.cleaned_data
    labels: dict[str, dict[str, str]] = {
        name: {str(k): str(v) for k, v in form.fields[name].choices}  # type: ignore[attr-defined]
        for name in ("specialization", "category", "language")
    }
    chips = []
    for index, (name, value) in enumerate(params):
        if name == "sort":
            continue
        if name in labels:
            label = labels[name].get(value)
            if label is None:
                continue
        elif name == "q":
            label = _("Name: %(text)s") % {"text": data.get("q") or value}
        elif name == "price_min" and data.get("price_min") is not None:
            label = _("From %(price)s") % {"price": _money(form.brand, data["price_min"])}
        elif name == "price_max" and data.get("price_max") is not None:
            label = _("Up to %(price)s") % {"price": _money(form.brand, data["price_max"])}
        elif name == "available_from" and data.get("available_from"):
            label = _("Available from %(day)s") % {"day": show.short_day(data["available_from"])}
        elif name == "available_to" and data.get("available_to"):
            label = _("Available until %(day)s") % {"day": show.short_day(data["available_to"])}
        else:
            continue
        rest = params[:index] + params[index + 1 :]
        chips.append(Chip(label=label, url=_address(rest)))
    return chips


def _card(
    brand: Brand,
    published: Any,
    first: FirstFree | None,
    listing: Any,
    zone: ZoneInfo,
    now: datetime,
) -> Card:
    """A specialist's card (the list and the comparison): the booking link opens on the
    session type of the first free time."""
    book_url = reverse("patient:book", args=[published.profile_id])
    if first is not None:
        book_url += "?" + urlencode({"type": first.session_type_id})
    return Card(
        sp=present_published(
            published,
            brand,
            listing=listing,
            photo_url=_photo_url(published.profile_id),
            detail_url=reverse("patient:specialist", args=[published.profile_id]),
        ),
        first_free=show.when(first.slot.start, zone, now=now) if first else "",
        book_url=book_url,
    )


def _cards(
    brand: Brand, chosen: list[tuple[Any, FirstFree | None]], zone: ZoneInfo, now: datetime
) -> list[Card]:
    """The cards of published profiles with their first free times: a fixed number of
    queries whatever the page holds."""
    listings = public_listings_on(brand, [p.profile_id for p, _first in chosen])
    return [_card(brand, p, first, listings.get(p.profile_id), zone, now) for p, first in chosen]


def _with_first_free(brand: Brand, hits: list[search.Hit]) -> list[tuple[Any, FirstFree | None]]:
    """The hits' published profiles (still visible, in order) with their first free times."""
    by_id = {h.profile_id: h for h in hits}
    published = search.published_for(brand, list(by_id))
    return [(p, by_id[p.profile_id].first_free) for p in published]


@require_GET
@directory_view
def specialist_list(request: HttpRequest) -> HttpResponse:
    brand = request.brand  # type: ignore[attr-defined]
    now = timezone.now()
    zone_name = show.viewer_zone_name(request)
    zone = ZoneInfo(zone_name)
    asked = any(request.GET.getlist(name) for name in (*FILTER_PARAMS, "sort"))
    form = DirectoryFilterForm(
        request.GET if asked else None, brand=brand, zone=zone, today=now.astimezone(zone).date()
    )
    if asked:
        form.is_valid()  # field errors are shown; the valid filters still apply
        query = form.to_query()
    else:
        query = search.DirectoryQuery()
    result = search.search(brand, query, now=now)
    paginator = Paginator(result.hits, PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    hits = list(page.object_list)
    if not result.availability_known:
        search.fill_first_free(brand, hits, now=now)
    params = _valid_params(request, form) if asked else []
    filters = [(k, v) for k, v in params if k != "sort"]
    context = {
        "form": form,
        "cards": _cards(brand, _with_first_free(brand, hits), zone, now),
        "page": page,
        "total": paginator.count,
        "chips": _chips(form, params) if asked else [],
        "filtered": bool(filters),
        "clear_url": reverse("patient:specialists")
        + _address([(k, v) for k, v in params if k == "sort"]).rstrip("?"),
        "previous_url": _address(params, page=page.previous_page_number())
        if page.has_previous()
        else "",
        "next_url": _address(params, page=page.next_page_number()) if page.has_next() else "",
        "in_range": query.has_range,
        "zone_label": show.zone_label(zone_name, now),
        "shows_price": form.shows_price,
        "compare_max": search.COMPARE_MAX,
        "back_query": urlencode(params, doseq=False),
    }
    return render(request, "patient/specialist_list.html", context)


def _compare_ids(raw: QueryDict) -> tuple[list[int], bool]:
    """The distinct numeric ids of the address (at most ``MAX_COMPARE_IDS``), and whether
    anything was not a number."""
    ids: list[int] = []
    bad = False
    for value in raw.getlist("id")[:MAX_COMPARE_IDS]:
        try:
            number = int(value)
        except (TypeError, ValueError):
            bad = True
            continue
        if number > 0 and number not in ids:
            ids.append(number)
    return ids, bad


@require_GET
@directory_view
def specialist_compare(request: HttpRequest) -> HttpResponse:
    """Two or three specialists side by side. Ids not visible on this brand are dropped
    as if they did not exist (never shown, never named)."""
    brand = request.brand  # type: ignore[attr-defined]
    now = timezone.now()
    zone_name = show.viewer_zone_name(request)
    zone = ZoneInfo(zone_name)
    ids, bad = _compare_ids(request.GET)
    columns = _cards(brand, search.compare(brand, ids, now=now), zone, now)
    message = ""
    if len(columns) < 2:
        message = _("Choose two or three specialists to compare.")
    elif len(ids) > search.COMPARE_MAX or bad:
        message = _("You can compare up to %(n)s specialists; the first %(n)s are shown.") % {
            "n": search.COMPARE_MAX
        }
    back = QueryDict(request.GET.get("back", "")[:2000])
    kept = [(k, v) for k in (*FILTER_PARAMS, "sort") for v in back.getlist(k) if v]
    context = {
        "back_url": reverse("patient:specialists") + (f"?{urlencode(kept)}" if kept else ""),
        "columns": columns if len(columns) >= 2 else [],
        "message": message,
        "zone_label": show.zone_label(zone_name, now),
    }
    return render(request, "patient/specialist_compare.html", context)


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
