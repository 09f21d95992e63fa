"""Scoped lookups of bookings and requests: the only way views and the API fetch them.

A patient sees their own bookings on the current brand; a specialist sees their own
profile's bookings on every brand of their network (their calendar is one). Anything
else -- another patient's booking, another brand's, a bare id guessed -- is ``Http404``:
missing and forbidden answer alike.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from caredoor.core.booking.models import AvailabilityRequest, Booking
from caredoor.core.brands.models import Brand
from caredoor.core.specialists.models import SpecialistProfile

RELATED = ("brand", "profile", "session_type", "patient", "series")


def patient_bookings(patient: Any, brand: Brand) -> QuerySet[Booking]:
    return Booking.objects.filter(patient=patient, brand=brand).select_related(*RELATED)


def specialist_bookings(profile: SpecialistProfile) -> QuerySet[Booking]:
    return Booking.objects.filter(profile=profile).select_related(*RELATED)


def access_patient_booking(patient: Any, brand: Brand, booking_id: int) -> Booking:
    try:
        return patient_bookings(patient, brand).get(pk=booking_id)
    except Booking.DoesNotExist:
        raise Http404 from None


def access_specialist_booking(profile: SpecialistProfile, booking_id: int) -> Booking:
    try:
        return specialist_bookings(profile).get(pk=booking_id)
    except Booking.DoesNotExist:
        raise Http404 from None


def patient_requests(patient: Any, brand: Brand) -> QuerySet[AvailabilityRequest]:
    return AvailabilityRequest.objects.filter(patient=patient, brand=brand).select_related(
        "brand", "profile", "session_type"
    )


def specialist_requests(profile: SpecialistProfile) -> QuerySet[AvailabilityRequest]:
    return AvailabilityRequest.objects.filter(profile=profile).select_related(
        "brand", "profile", "session_type", "patient"
    )


def access_patient_request(patient: Any, brand: Brand, request_id: int) -> AvailabilityRequest:
    try:
        return patient_requests(patient, brand).get(pk=request_id)
    except AvailabilityRequest.DoesNotExist:
        raise Http404 from None


def access_specialist_request(profile: SpecialistProfile, request_id: int) -> AvailabilityRequest:
    try:
        return specialist_requests(profile).get(pk=request_id)
    except AvailabilityRequest.DoesNotExist:
        raise Http404 from None


def patients_of(profile: SpecialistProfile, brand: Brand) -> QuerySet[Any]:
    """The people a specialist may schedule for on ``brand``: patients in an active care
    relationship with them there, and patients who asked them for a time."""
    from django.contrib.auth import get_user_model

    from caredoor.core.care.models import CareRelationship

    User = get_user_model()
    cared = CareRelationship.objects.filter(
        profile=profile, brand=brand, ended_at__isnull=True
    ).values("patient_id")
    asked = AvailabilityRequest.objects.filter(profile=profile, brand=brand).values("patient_id")
    return User.objects.filter(Q(pk__in=cared) | Q(pk__in=asked)).order_by("name", "email")
