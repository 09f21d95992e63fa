"""The context beside a conversation: who the other party is, where the care stands.

Assembled here, in the portal layer, from the core apps' own reads (care relationships,
``booking.care_facts.with_facts`` for the next session, booking lookups, consent
``outstanding``), so each fact has one definition. The reader sees only what their portal
already shows them elsewhere: a patient the specialist's public name, title and profile;
the specialist the patient's name and time zone; staff the person and their role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import F
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking.access import patient_bookings
from caredoor.core.booking.care_facts import UPCOMING, with_facts
from caredoor.core.booking.models import Booking
from caredoor.core.brands.choices import JourneyStage
from caredoor.core.care.models import CareRelationship
from caredoor.core.care.queries import organization_relationships
from caredoor.core.consents.queries import outstanding
from caredoor.core.messaging.models import Side, Thread, ThreadKind
from caredoor.core.specialists.choices import ListingStatus
from caredoor.core.specialists.models import Listing
from caredoor.core.specialists.queries import is_public_on, public_name


@dataclass
class RelationshipFacts:
    active: bool
    since: datetime
    source: str
    ended: datetime | None = None
    end_reason: str = ""
    sessions_held: int = 0
    record_url: str = ""


@dataclass
class SessionFacts:
    start: datetime
    status: str
    session_type: str
    url: str


@dataclass
class ConsentFacts:
    titles: list[str]
    url: str = ""
    url_label: str = ""

    @property
    def complete(self) -> bool:
        return not self.titles


@dataclass
class Sidebar:
    person: str
    role: str
    # (label, value) lines about the person: title, email, time zone, organization, ...
    facts: list[tuple[str, str]] = field(default_factory=list)
    profile_url: str = ""
    relationship: RelationshipFacts | None = None
    next_session: SessionFacts | None = None
    latest_booking: SessionFacts | None = None
    consents: ConsentFacts | None = None
    in_care_with: list[str] = field(default_factory=list)
    care: bool = False  # a care thread: the booking and consent sections apply


def _facts(*pairs: tuple[str, str]) -> list[tuple[str, str]]:
    """The pairs whose value is known."""
    return [(label, value) for label, value in pairs if value]


def _published_title(profile: Any) -> str:
    try:
        published = profile.published
    except Exception:  # never published (RelatedObjectDoesNotExist)
        return ""
    return str(published.data.get("professional_title", "") or "")


def _booking_url(portal: str, booking: Booking) -> str:
    return reverse(f"{portal}:booking", args=[booking.pk])


def _session(portal: str, booking: Booking | None) -> SessionFacts | None:
    if booking is None:
        return None
    return SessionFacts(
        start=booking.start,
        status=booking.get_status_display(),
        session_type=booking.session_type.name if booking.session_type_id else "",
        url=_booking_url(portal, booking),
    )


def _latest_relationship(thread: Thread) -> CareRelationship | None:
    """The pair's active relationship on the brand, else their latest one."""
    qs = CareRelationship.objects.filter(
        brand_id=thread.brand_id, patient_id=thread.patient_id, profile_id=thread.profile_id
    ).order_by(F("ended_at").desc(nulls_first=True), "-created_at", "-pk")
    return with_facts(qs).first()


def _care(thread: Thread, portal: str, back_url: str) -> Sidebar:
    brand, patient, profile = thread.brand, thread.patient, thread.profile
    rel = _latest_relationship(thread)
    if portal == Portal.PATIENT:
        bar = Sidebar(
            person=public_name(profile),
            role=str(Side.SPECIALIST.label),
            facts=_facts((_("Title"), _published_title(profile))),
            profile_url=(
                reverse("patient:specialist", args=[profile.pk])
                if is_public_on(brand, profile)
                else ""
            ),
            care=True,
        )
    else:
        bar = Sidebar(
            person=patient.display_name,
            role=str(Side.PATIENT.label),
            facts=_facts(
                (_("Time zone"), patient.time_zone or (getattr(rel, "booking_zone", "") or ""))
            ),
            care=True,
        )
    if rel is not None:
        bar.relationship = RelationshipFacts(
            active=rel.ended_at is None,
            since=rel.created_at,
            source=rel.get_source_display(),
            ended=rel.ended_at,
            end_reason=rel.get_end_reason_display() if rel.end_reason else "",
            sessions_held=getattr(rel, "completed", 0) or 0,
            record_url=(
                reverse("specialist:patient", args=[rel.pk]) if portal == Portal.SPECIALIST else ""
            ),
        )
    bookings = (
        patient_bookings(patient, brand)
        .filter(profile_id=profile.pk)
        .select_related("session_type")
    )
    next_start = getattr(rel, "next_start", None) if rel is not None else None
    if next_start is not None:
        upcoming = bookings.filter(status__in=UPCOMING, start=next_start).first()
        bar.next_session = _session(portal, upcoming)
    bar.latest_booking = _session(portal, bookings.order_by("-created_at", "-pk").first())
    titles = [
        v.document.title for v in outstanding(patient, brand, JourneyStage.SESSION, profile=profile)
    ]
    if portal == Portal.PATIENT:
        sign = (
            reverse("patient:consents_sign")
            + "?"
            + urlencode({"stage": JourneyStage.SESSION, "profile": profile.pk, "next": back_url})
        )
        bar.consents = ConsentFacts(
            titles, url=sign if titles else "", url_label=_("Read and sign") if titles else ""
        )
    else:
        record = bar.relationship.record_url if bar.relationship else ""
        bar.consents = ConsentFacts(
            titles,
            url=record if titles else "",
            url_label=_("Consents in the patient record"),
        )
    return bar


def _staff_view(thread: Thread, membership: Any) -> Sidebar:
    """Staff reading their organization's thread with one person."""
    brand = thread.brand
    if thread.patient_id:
        patient = thread.patient
        in_care = (
            organization_relationships(membership, brand)
            .filter(patient=patient, ended_at__isnull=True)
            .order_by("created_at")
        )
        return Sidebar(
            person=patient.display_name,
            role=str(Side.PATIENT.label),
            facts=_facts((_("Email"), patient.email), (_("Time zone"), patient.time_zone)),
            in_care_with=[public_name(rel.profile) for rel in in_care],
        )
    profile = thread.profile
    listing = Listing.objects.filter(brand=brand, profile=profile).first()
    return Sidebar(
        person=public_name(profile),
        role=str(Side.SPECIALIST.label),
        facts=_facts(
            (_("Title"), profile.professional_title),
            (_("Email"), profile.user.email),
            (_("Time zone"), profile.time_zone),
            (_("Onboarded by"), profile.onboarded_by.name),
            (
                _("Listing on %(brand)s") % {"brand": brand.name},
                listing.get_status_display()
                if listing is not None and listing.status != ListingStatus.REMOVED
                else "",
            ),
        ),
    )


def _with_staff(thread: Thread) -> Sidebar:
    """A patient or specialist reading an organization's thread with them."""
    return Sidebar(
        person=thread.organization.name,
        role=str(Side.STAFF.label),
        facts=_facts((_("Type of organization"), thread.organization.get_kind_display())),
    )


def sidebar_for(thread: Thread, portal: str, membership: Any, *, back_url: str) -> Sidebar:
    """What the reader in ``portal`` sees beside ``thread``."""
    if thread.kind == ThreadKind.CARE:
        return _care(thread, portal, back_url)
    if portal == Portal.ORGANIZATION:
        return _staff_view(thread, membership)
    return _with_staff(thread)
