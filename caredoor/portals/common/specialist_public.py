"""What patients see of a specialist: one presenter for the patient pages and the preview.

The patient portal (``/specialists/<id>/``) and the specialist's own preview
(``/specialist/preview/<brand_id>/``) both build a ``PublicSpecialist`` here and render it
with ``common/specialist_profile.html`` (cards: ``common/specialist_card.html``), so what a
specialist previews cannot differ from what patients get.

The presenter reads only the public fields: a ``PublishedProfile`` (what patients see), or,
for a preview before the first approval, the same fields of the working copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from caredoor.core.brands.models import Brand
from caredoor.core.specialists.choices import (
    PUBLIC_FIELDS,
    SPOKEN_LANGUAGES,
    AgeGroup,
    SessionFormat,
)
from caredoor.core.specialists.models import Listing, PublishedProfile, SpecialistProfile
from caredoor.core.specialists.pricing import ListingPrice, listing_price

# Intro videos are links to these hosts only, over HTTPS (checked on input and again here).
VIDEO_HOSTS = frozenset(
    {
        "youtube.com",
        "www.youtube.com",
        "m.youtube.com",
        "youtu.be",
        "vimeo.com",
        "www.vimeo.com",
        "player.vimeo.com",
    }
)
VIDEO_SITES = gettext_lazy("YouTube (youtube.com, youtu.be) or Vimeo (vimeo.com)")

# The plain (non-relation, non-file) public fields, as a published snapshot stores them.
DATA_FIELDS = [f for f in PUBLIC_FIELDS if f not in ("specializations", "categories", "photo")]


def is_allowed_video_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme == "https" and (parts.hostname or "").lower() in VIDEO_HOSTS


def video_site(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return "Vimeo" if host.endswith("vimeo.com") else "YouTube"


@dataclass(frozen=True)
class EducationEntry:
    degree: str
    institution: str
    year: int | None


@dataclass(frozen=True)
class PublicSpecialist:
    profile_id: int
    name: str
    title: str
    bio: str
    photo_url: str | None
    price: ListingPrice
    session_offer: str = ""
    education: list[EducationEntry] = field(default_factory=list)
    specializations: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    expertise: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    session_formats: list[str] = field(default_factory=list)
    age_groups: list[str] = field(default_factory=list)
    accepts_new_patients: bool | None = None
    intro_video_url: str = ""
    detail_url: str = ""

    @property
    def initials(self) -> str:
        words = [w for w in self.name.replace(".", " ").split() if w[:1].isalpha()]
        return "".join(w[0] for w in words[-2:]).upper() or "?"

    @property
    def intro_video_site(self) -> str:
        return video_site(self.intro_video_url) if self.intro_video_url else ""


def _labels(values: Any, choices: dict[str, Any]) -> list[str]:
    if not isinstance(values, list):
        return []
    return [str(choices[v]) for v in values if v in choices]


def _education(values: Any) -> list[EducationEntry]:
    entries = []
    for row in values if isinstance(values, list) else []:
        if not isinstance(row, dict):
            continue
        degree = str(row.get("degree") or "").strip()
        institution = str(row.get("institution") or "").strip()
        year = row.get("year")
        if degree or institution:
            entries.append(
                EducationEntry(degree, institution, year if isinstance(year, int) else None)
            )
    return entries


def _build(
    *,
    profile_id: int,
    data: dict[str, Any],
    specializations: list[str],
    categories: list[str],
    photo_url: str | None,
    price: ListingPrice,
    session_offer: str,
    detail_url: str,
) -> PublicSpecialist:
    prefs = data.get("practice_preferences") or {}
    if not isinstance(prefs, dict):
        prefs = {}
    accepts = prefs.get("accepts_new_patients")
    video = str(data.get("intro_video_url") or "")
    expertise = data.get("expertise") or []
    return PublicSpecialist(
        profile_id=profile_id,
        name=str(data.get("display_name") or "").strip() or _("Specialist"),
        title=str(data.get("professional_title") or ""),
        bio=str(data.get("bio") or ""),
        photo_url=photo_url,
        price=price,
        session_offer=session_offer,
        education=_education(data.get("education")),
        specializations=specializations,
        categories=categories,
        expertise=[str(t) for t in expertise] if isinstance(expertise, list) else [],
        languages=_labels(data.get("languages"), SPOKEN_LANGUAGES),
        session_formats=_labels(prefs.get("session_formats"), dict(SessionFormat.choices)),
        age_groups=_labels(prefs.get("age_groups"), dict(AgeGroup.choices)),
        accepts_new_patients=accepts if isinstance(accepts, bool) else None,
        intro_video_url=video if is_allowed_video_url(video) else "",
        detail_url=detail_url,
    )


def price_on(brand: Brand, profile: SpecialistProfile, listing: Listing | None) -> ListingPrice:
    """The listing's price on ``brand``; without a listing, what the brand's rules give."""
    return listing_price(listing or Listing(profile=profile, brand=brand))


def present_published(
    published: PublishedProfile,
    brand: Brand,
    *,
    listing: Listing | None,
    photo_url: str | None,
    detail_url: str = "",
) -> PublicSpecialist:
    """The approved version, as patients of ``brand`` see it."""
    profile = published.profile
    return _build(
        profile_id=profile.pk,
        data=published.data or {},
        specializations=[t.name for t in published.specializations.all()],
        categories=[t.name for t in published.categories.all()],
        photo_url=photo_url if published.photo_id else None,
        price=price_on(brand, profile, listing),
        session_offer=listing.session_offer if listing else "",
        detail_url=detail_url,
    )


def present_working_copy(
    profile: SpecialistProfile,
    brand: Brand,
    *,
    listing: Listing | None,
    photo_url: str | None,
) -> PublicSpecialist:
    """The working copy's public fields, for a preview before anything is published."""
    return _build(
        profile_id=profile.pk,
        data={f: getattr(profile, f) for f in DATA_FIELDS},
        specializations=[t.name for t in profile.specializations.order_by("name")],
        categories=[t.name for t in profile.categories.order_by("name")],
        photo_url=photo_url if profile.photo_id else None,
        price=price_on(brand, profile, listing),
        session_offer=listing.session_offer if listing else "",
        detail_url="",
    )
