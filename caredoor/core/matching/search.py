"""The specialist directory's search: filters, sorting and the first free time, per brand.

A pure query module (no models, no writes). Everything starts from
``specialists.queries.public_profiles_on(brand)``, so only approved, published profiles
with an approved listing on the brand can ever be found. The filters run in SQL; the first
free time comes from the batch ``booking.queries.next_available`` (a few queries for any
number of specialists), and only for the specialists left after the other filters.

Within one filter, any chosen value matches (German *or* French); different filters must
all match (a specialization *and* a language).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from caredoor.core.booking.queries import next_available
from caredoor.core.brands.choices import CURRENCIES, PricingMode
from caredoor.core.brands.models import Brand
from caredoor.core.scheduling import engine
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.choices import SPOKEN_LANGUAGES, ListingStatus, TermKind
from caredoor.core.specialists.models import Listing, PublishedProfile, Term
from caredoor.core.specialists.queries import public_profiles_on

# How far "the next available time" looks without a date range (as the API does).
NEXT_AVAILABLE_DAYS = 30
# The longest "available between" range, in days.
MAX_RANGE_DAYS = 92
COMPARE_MAX = 3


class Sort:
    RELEVANCE = "relevance"
    SOONEST = "soonest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"
    NAME = "name"

    ALL = (RELEVANCE, SOONEST, PRICE_ASC, PRICE_DESC, NAME)
    BY_PRICE = (PRICE_ASC, PRICE_DESC)


@dataclass(frozen=True)
class DirectoryQuery:
    """What the patient asked for. Times are aware datetimes; ``available_until`` is
    exclusive. Prices are in the brand currency's minor units."""

    text: str = ""
    specializations: frozenset[int] = frozenset()
    categories: frozenset[int] = frozenset()
    languages: frozenset[str] = frozenset()
    price_min_minor: int | None = None
    price_max_minor: int | None = None
    available_from: datetime | None = None
    available_until: datetime | None = None
    sort: str = Sort.RELEVANCE

    @property
    def has_range(self) -> bool:
        return self.available_from is not None and self.available_until is not None


@dataclass(frozen=True)
class FirstFree:
    """A specialist's first free time: the slot and the session type it belongs to."""

    slot: engine.Slot
    session_type_id: int


@dataclass
class Hit:
    profile_id: int
    name: str
    price_minor: int | None
    relevance: int = 0
    first_free: FirstFree | None = None


@dataclass
class SearchResult:
    hits: list[Hit]  # every match, in the chosen order
    availability_known: bool  # first_free filled in for every hit (else: only on request)
    query: DirectoryQuery = field(default_factory=DirectoryQuery)


# --- what the brand's directory offers to filter by ---------------------------------------------


def price_applies(brand: Brand) -> bool:
    """Price filters and price sorting mean something only where prices differ."""
    return brand.pricing_mode != PricingMode.BRAND_FIXED


def currency_exponent(brand: Brand) -> int:
    return CURRENCIES.get(brand.currency, 2)


def terms_in_use(brand: Brand, kind: str) -> QuerySet[Term]:
    """The terms of one kind that at least one specialist visible on ``brand`` has."""
    through = PublishedProfile._meta.get_field(
        "specializations" if kind == TermKind.SPECIALIZATION else "categories"
    ).remote_field.through
    used = through.objects.filter(publishedprofile__in=public_profiles_on(brand).values("pk"))
    return Term.objects.filter(
        network_id=brand.network_id, kind=kind, pk__in=used.values("term_id")
    ).order_by("name", "pk")


def languages_in_use(brand: Brand) -> list[tuple[str, str]]:
    """``(code, label)`` of the languages visible specialists speak, by label."""
    codes: set[str] = set()
    for languages in public_profiles_on(brand).order_by().values_list("data__languages", flat=True):
        if isinstance(languages, list):
            codes.update(c for c in languages if c in SPOKEN_LANGUAGES)
    return sorted(((c, str(SPOKEN_LANGUAGES[c])) for c in codes), key=lambda pair: pair[1])


# --- the search ---------------------------------------------------------------------------------


def _through(name: str) -> Any:
    return PublishedProfile._meta.get_field(name).remote_field.through


def _filtered(brand: Brand, query: DirectoryQuery) -> QuerySet[PublishedProfile]:
    """The SQL part: every filter except availability."""
    qs = public_profiles_on(brand).prefetch_related(None)
    text = query.text.strip()
    if text:
        qs = qs.filter(
            Q(data__display_name__icontains=text) | Q(data__professional_title__icontains=text)
        )
    for name, ids in (
        ("specializations", query.specializations),
        ("categories", query.categories),
    ):
        if ids:
            qs = qs.filter(
                Exists(
                    _through(name).objects.filter(
                        publishedprofile_id=OuterRef("pk"), term_id__in=sorted(ids)
                    )
                )
            )
    if query.languages:
        # Codes are stored as a JSON list of quoted strings: look for the quoted code.
        wanted = Q()
        for code in sorted(query.languages):
            wanted |= Q(data__languages__icontains=f'"{code}"')
        qs = qs.filter(wanted)
    price = Subquery(
        Listing.objects.filter(
            profile_id=OuterRef("profile_id"), brand=brand, status=ListingStatus.APPROVED
        ).values("price_minor")[:1]
    )
    qs = qs.annotate(listing_price=price)
    if price_applies(brand):
        if query.price_min_minor is not None:
            qs = qs.filter(listing_price__gte=query.price_min_minor)
        if query.price_max_minor is not None:
            qs = qs.filter(listing_price__lte=query.price_max_minor)
    return qs


def _relevance(candidates: dict[int, Hit], pks: dict[int, int], query: DirectoryQuery) -> None:
    """How many of the chosen specializations and categories each specialist has."""
    chosen = query.specializations | query.categories
    if not chosen or not candidates:
        return
    for name in ("specializations", "categories"):
        rows = _through(name).objects.filter(
            publishedprofile_id__in=list(pks), term_id__in=sorted(chosen)
        )
        for published_id in rows.values_list("publishedprofile_id", flat=True):
            candidates[pks[published_id]].relevance += 1


def bookable_types(
    brand: Brand, profile_ids: list[int], *, direct_only: bool = True
) -> list[SessionType]:
    """Session types offered on ``brand`` (only those patients book directly, with
    ``direct_only``: the directory's first times)."""
    if not profile_ids:
        return []
    types = SessionType.objects.filter(
        Q(brand__isnull=True) | Q(brand=brand), is_active=True, profile_id__in=profile_ids
    )
    if direct_only:
        types = types.filter(direct_booking=True)
    return list(types.select_related("profile"))


def first_free_times(
    brand: Brand,
    profile_ids: list[int],
    *,
    now: datetime,
    days: int = NEXT_AVAILABLE_DAYS,
    start: datetime | None = None,
    until: datetime | None = None,
    direct_only: bool = True,
) -> dict[int, FirstFree]:
    """Each specialist's first free time over their session types on ``brand`` (directly
    bookable ones only, with ``direct_only``): in ``[start, until)`` when given, else
    within ``days``. Specialists without one are left out. The ids must already be visible
    on ``brand``."""
    types = bookable_types(brand, profile_ids, direct_only=direct_only)
    if not types:
        return {}
    found = next_available(types, now=now, days=days, start=start, until=until)
    owner = {st.pk: st.profile_id for st in types}
    first: dict[int, FirstFree] = {}
    for type_id, slot in sorted(found.items()):
        if slot is None:
            continue
        pid = owner[type_id]
        known = first.get(pid)
        if known is None or slot.start < known.slot.start:
            first[pid] = FirstFree(slot, type_id)
    return first


def _order(hits: list[Hit], sort: str, *, by_price: bool) -> list[Hit]:
    def when(hit: Hit) -> tuple[bool, float]:
        if hit.first_free is None:
            return (True, 0.0)
        return (False, hit.first_free.slot.start.timestamp())

    def name(hit: Hit) -> tuple[str, int]:
        return (hit.name.casefold(), hit.profile_id)

    if sort == Sort.NAME or (sort in Sort.BY_PRICE and not by_price):
        return sorted(hits, key=name)
    if sort == Sort.PRICE_ASC:
        return sorted(hits, key=lambda h: (h.price_minor is None, h.price_minor or 0, *name(h)))
    if sort == Sort.PRICE_DESC:
        return sorted(hits, key=lambda h: (h.price_minor is None, -(h.price_minor or 0), *name(h)))
    if sort == Sort.SOONEST:
        return sorted(hits, key=lambda h: (*when(h), *name(h)))
    return sorted(hits, key=lambda h: (-h.relevance, *when(h), *name(h)))


def search(brand: Brand, query: DirectoryQuery, *, now: datetime) -> SearchResult:
    """Every specialist visible on ``brand`` that matches ``query``, in its order.

    The first free time is looked up (in one batch) when the order or the filter needs it
    (relevance, soonest, a date range); otherwise ``availability_known`` is False and the
    caller asks ``fill_first_free`` for the page it shows."""
    rows = _filtered(brand, query).values_list(
        "pk", "profile_id", "data__display_name", "listing_price"
    )
    candidates: dict[int, Hit] = {}
    pks: dict[int, int] = {}
    for pk, profile_id, name, price in rows:
        pks[pk] = profile_id
        candidates[profile_id] = Hit(
            profile_id=profile_id, name=str(name or "").strip(), price_minor=price
        )
    _relevance(candidates, pks, query)
    needs_times = query.has_range or query.sort in (Sort.RELEVANCE, Sort.SOONEST)
    if needs_times and candidates:
        first = first_free_times(
            brand,
            list(candidates),
            now=now,
            start=query.available_from if query.has_range else None,
            until=query.available_until if query.has_range else None,
        )
        for pid, hit in candidates.items():
            hit.first_free = first.get(pid)
        if query.has_range:
            candidates = {pid: h for pid, h in candidates.items() if h.first_free is not None}
    hits = _order(list(candidates.values()), query.sort, by_price=price_applies(brand))
    return SearchResult(hits=hits, availability_known=needs_times, query=query)


def fill_first_free(brand: Brand, hits: list[Hit], *, now: datetime) -> None:
    """The first free time (within ``NEXT_AVAILABLE_DAYS``) of these hits, in one batch."""
    first = first_free_times(brand, [h.profile_id for h in hits], now=now)
    for hit in hits:
        hit.first_free = first.get(hit.profile_id)


def published_for(brand: Brand, profile_ids: list[int]) -> list[PublishedProfile]:
    """The visible published profiles of these ids, in the given order (others dropped),
    with what a card needs loaded in a fixed number of queries."""
    found = {p.profile_id: p for p in public_profiles_on(brand).filter(profile_id__in=profile_ids)}
    return [found[pid] for pid in dict.fromkeys(profile_ids) if pid in found]


def compare(
    brand: Brand, profile_ids: list[int], *, now: datetime
) -> list[tuple[PublishedProfile, FirstFree | None]]:
    """The first ``COMPARE_MAX`` of these specialists, side by side, with their first free
    time. Ids not visible on ``brand`` are dropped as if they did not exist."""
    chosen = published_for(brand, profile_ids)[:COMPARE_MAX]
    first = first_free_times(brand, [p.profile_id for p in chosen], now=now)
    return [(p, first.get(p.profile_id)) for p in chosen]
