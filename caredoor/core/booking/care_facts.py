"""Care relationships with the facts of their bookings: sessions held, the next and the
last session, open availability requests. Bookings sit above care in the layer order, so
these reads live here, beside the booking models and their statuses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from caredoor.core.booking.models import AvailabilityRequest, Booking, BookingStatus, RequestStatus
from caredoor.core.brands.models import Brand
from caredoor.core.care.models import CareRelationship
from caredoor.core.care.queries import specialist_relationships
from caredoor.core.specialists.models import SpecialistProfile

HELD = (BookingStatus.COMPLETED,)
UPCOMING = (BookingStatus.CONFIRMED, BookingStatus.PENDING_PAYMENT)
# Every booking of the pair except proposals that never became sessions and moved rows.
NOT_SESSIONS = (
    BookingStatus.PROPOSED,
    BookingStatus.EXPIRED,
    BookingStatus.DECLINED,
    BookingStatus.RESCHEDULED,
)


def _pair_bookings() -> QuerySet[Any]:
    return Booking.objects.filter(
        profile_id=OuterRef("profile_id"),
        patient_id=OuterRef("patient_id"),
        brand_id=OuterRef("brand_id"),
    ).order_by()


def _count(qs: QuerySet[Any]) -> Subquery:
    return Subquery(
        qs.values("profile_id").annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField(),
    )


def with_facts(qs: QuerySet[CareRelationship], *, now: datetime | None = None) -> QuerySet:
    """Annotate each relationship with its sessions and open requests, in one query.

    ``completed`` (sessions held), ``sessions`` (every booking of the pair on the brand
    except lapsed proposals), ``next_start`` (the next confirmed or pending-payment session),
    ``last_start`` (the latest held session: completed, or confirmed and already over),
    ``open_requests`` (availability requests waiting for the specialist) and
    ``booking_zone`` (the patient's zone on their latest booking, when their account has
    none).
    """
    now = now or timezone.now()
    bookings = _pair_bookings()
    requests = AvailabilityRequest.objects.filter(
        profile_id=OuterRef("profile_id"),
        patient_id=OuterRef("patient_id"),
        brand_id=OuterRef("brand_id"),
        status=RequestStatus.REQUESTED,
        respond_by__gt=now,
    ).order_by()
    held = bookings.filter(Q(status__in=HELD) | Q(status=BookingStatus.CONFIRMED, end__lte=now))
    return qs.annotate(
        completed=Coalesce(_count(bookings.filter(status__in=HELD)), 0),
        sessions=Coalesce(
            _count(bookings.exclude(status__in=NOT_SESSIONS)),
            0,
        ),
        next_start=Subquery(
            bookings.filter(status__in=UPCOMING, end__gt=now).order_by("start").values("start")[:1]
        ),
        last_start=Subquery(held.order_by("-start").values("start")[:1]),
        open_requests=Coalesce(_count(requests), 0),
        booking_zone=Subquery(bookings.order_by("-created_at").values("patient_time_zone")[:1]),
    )


def relationship_rows(
    profile: SpecialistProfile, brand: Brand | None = None, *, search: str = ""
) -> QuerySet[CareRelationship]:
    """The specialist's relationships (on ``brand``, or on every brand of their network)
    with their facts (``with_facts``); ``search`` matches the patient's name or email."""
    qs = specialist_relationships(profile, brand)
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(patient__name__icontains=search) | Q(patient__email__icontains=search))
    return with_facts(qs)
