"""Input and output schemas of the booking API, and the presenters that fill them.

Times come in as ISO 8601 strings *with* an offset (``Z`` or ``+01:00``); anything else is
refused with a message that says so. Times go out in UTC (``...Z``), with the IANA zone
names that give them meaning beside them (the specialist's, the patient's, the viewer's).

Outputs are built field by field here, never from a model wholesale: a patient sees the
specialist's public display name (never their account or email), a specialist sees their
own patient's display name and id (the id is what proposals and series take), and nobody
sees anyone else's patients.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator

from caredoor.api.errors import OccurrenceOut, utc
from caredoor.core.booking.models import AvailabilityRequest, Booking, BookingStatus, RequestStatus
from caredoor.core.booking.requests import MAX_WINDOWS, preferred_windows
from caredoor.core.scheduling.models import SessionType
from caredoor.core.scheduling.queries import zone_of
from caredoor.core.specialists.models import PublishedProfile

Side = Literal["patient", "specialist"]
MAX_REASON = 2000
# Times outside these bounds are never meant (and date arithmetic on them can overflow).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# "…T09:00:00 01:00": a "+" that a query string turned into a space.
_LOST_PLUS = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$"
)


def _iso_string(value: Any) -> Any:
    if isinstance(value, datetime):  # from Python callers (tests, defaults)
        return value
    if not isinstance(value, str):
        raise ValueError(_("Give the time as an ISO 8601 string, e.g. 2026-11-23T09:00:00+01:00."))
    value = value.strip()
    match = _LOST_PLUS.match(value)
    return f"{match[1]}+{match[2]}" if match else value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            _(
                "Include the time zone offset, e.g. 2026-11-23T09:00:00+01:00 or "
                "2026-11-23T08:00:00Z."
            )
        )
    value = value.astimezone(UTC)
    if not EARLIEST <= value < LATEST:
        raise ValueError(_("Give a time between the years 2000 and 2100."))
    return value


# Ids as the database can hold them (larger ones would overflow the query, not miss).
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]  # in paths and query strings (text, converted)
BodyId = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]  # in JSON: a number, not true/"5"
Count = Annotated[int, Field(strict=True)]

AwareDateTime = Annotated[datetime, BeforeValidator(_iso_string), AfterValidator(_aware)]


def check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(_("Unknown time zone: use an IANA name such as Europe/Berlin.")) from None
    return name


ZoneName = Annotated[str, Field(max_length=64), AfterValidator(check_zone)]


# --- inputs ---------------------------------------------------------------------------------


class BookIn(Schema):
    session_type: BodyId
    start: AwareDateTime
    voucher: str = Field("", max_length=40, description="a voucher code (optional)")


class CancelIn(Schema):
    reason: str = Field("", max_length=MAX_REASON)


class StartIn(Schema):
    start: AwareDateTime


class ProposeIn(Schema):
    patient: BodyId
    session_type: BodyId
    start: AwareDateTime
    expires_at: AwareDateTime | None = None
    requires_payment: bool | None = None


class WindowIn(Schema):
    start: AwareDateTime
    end: AwareDateTime


class RequestIn(Schema):
    session_type: BodyId
    # The action names the limit in its message; the schema only stops absurd payloads.
    preferred: list[WindowIn] = Field(..., max_length=MAX_WINDOWS * 4)


class SeriesPreviewIn(Schema):
    session_type: BodyId
    first_start: AwareDateTime
    interval_weeks: Count
    count: Count


class SeriesIn(SeriesPreviewIn):
    patient: BodyId
    skip_conflicts: bool = False


class SlotsQuery(Schema):
    session_type: Id
    start: AwareDateTime | None = None
    end: AwareDateTime | None = None
    tz: ZoneName | None = None


# --- outputs --------------------------------------------------------------------------------


class PriceOut(Schema):
    amount_minor: int | None
    currency: str
    covered: bool
    display: str


class SessionTypeOut(Schema):
    id: int
    name: str
    duration_minutes: int
    slot_step_minutes: int
    min_notice_minutes: int
    horizon_days: int
    direct_booking: bool
    # Why the caller cannot book it directly here ('' when they can); visitors are judged
    # as new patients.
    booking_refusal: str
    price: PriceOut


class SlotWithZoneOut(Schema):
    start: datetime
    end: datetime
    local_start: str | None = None  # in the viewer's zone (``tz``), with its offset
    local_end: str | None = None


class SlotsOut(Schema):
    profile_id: int
    session_type_id: int
    time_zone: str  # the specialist's: where the hours are set
    viewer_time_zone: str | None
    start: datetime
    end: datetime
    slots: list[SlotWithZoneOut]


class NextAvailableOut(Schema):
    profile_id: int
    session_type_id: int | None
    start: datetime | None
    end: datetime | None


class SpecialistRef(Schema):
    profile_id: int
    name: str
    time_zone: str


class PatientRef(Schema):
    id: int
    name: str


class SessionTypeRef(Schema):
    id: int
    name: str
    duration_minutes: int


class BookingOut(Schema):
    id: int
    status: str
    status_label: str
    start: datetime
    end: datetime
    patient_time_zone: str
    brand: str  # the brand's slug: a specialist's bookings span the brands of the network
    specialist: SpecialistRef
    patient: PatientRef | None  # only for the specialist
    session_type: SessionTypeRef
    price_minor: int | None
    currency: str
    origin: str
    requires_payment: bool
    expires_at: datetime | None
    # A booking awaiting payment: the brand's page where the patient pays (a path on the
    # brand's host); "" otherwise.
    pay_path: str = ""
    fee_percent: int | None
    cancelled_at: datetime | None
    cancel_reason: str
    series_id: int | None
    rescheduled_from: int | None
    availability_request: int | None
    created_at: datetime


class CancelOut(Schema):
    booking: BookingOut
    late: bool
    fee_percent: int


class CancellationTermsOut(Schema):
    booking_id: int
    cancellable: bool
    free: bool
    fee_percent: int
    free_until: datetime | None  # null where the fee rule does not apply (specialist, unpaid)
    may_reschedule: bool
    reschedule_until: datetime | None


class WindowOut(Schema):
    start: datetime
    end: datetime


class AvailabilityRequestOut(Schema):
    id: int
    side: Side
    status: str
    status_label: str
    brand: str
    specialist: SpecialistRef
    patient: PatientRef | None
    session_type: SessionTypeRef
    preferred: list[WindowOut]
    patient_time_zone: str
    respond_by: datetime
    responded_at: datetime | None
    created_at: datetime
    bookings: list[int]


class SeriesPreviewOut(Schema):
    time_zone: str
    all_free: bool
    occurrences: list[OccurrenceOut]


class SeriesOut(Schema):
    id: int
    interval_weeks: int
    count: int
    time_zone: str
    bookings: list[BookingOut]


class PatientOut(Schema):
    id: int
    name: str


# --- presenters -----------------------------------------------------------------------------


def public_names(profile_ids: Iterable[int]) -> dict[int, str]:
    """The display names patients see: the published snapshot's, never the account's."""
    rows = PublishedProfile.objects.filter(profile_id__in=set(profile_ids)).values_list(
        "profile_id", "data__display_name"
    )
    return {pid: str(name or "").strip() for pid, name in rows}


def specialist_ref(profile: Any, names: dict[int, str]) -> SpecialistRef:
    return SpecialistRef(
        profile_id=profile.pk,
        name=names.get(profile.pk) or _("Specialist"),
        time_zone=zone_of(profile),
    )


def patient_ref(item: Booking | AvailabilityRequest, side: Side) -> PatientRef | None:
    """The patient of a booking or request: shown to its specialist only."""
    if side != "specialist":
        return None
    return PatientRef(id=item.patient_id, name=item.patient.display_name)


def session_type_ref(session_type: SessionType) -> SessionTypeRef:
    return SessionTypeRef(
        id=session_type.pk, name=session_type.name, duration_minutes=session_type.duration_minutes
    )


def booking_out(booking: Booking, side: Side, names: dict[int, str]) -> BookingOut:
    return BookingOut(
        id=booking.pk,
        status=booking.status,
        status_label=str(BookingStatus(booking.status).label),
        start=utc(booking.start),
        end=utc(booking.end),
        patient_time_zone=booking.patient_time_zone,
        brand=booking.brand.slug,
        specialist=specialist_ref(booking.profile, names),
        patient=patient_ref(booking, side),
        session_type=session_type_ref(booking.session_type),
        price_minor=booking.price_minor,
        currency=booking.currency,
        origin=booking.origin,
        requires_payment=booking.requires_payment,
        expires_at=utc(booking.expires_at),
        pay_path=(
            f"/sessions/{booking.pk}/pay/"
            if side == "patient" and booking.status == BookingStatus.PENDING_PAYMENT
            else ""
        ),
        fee_percent=booking.fee_percent,
        cancelled_at=utc(booking.cancelled_at),
        cancel_reason=booking.cancel_reason,
        series_id=booking.series_id,
        rescheduled_from=booking.rescheduled_from_id,
        availability_request=booking.availability_request_id,
        created_at=utc(booking.created_at),
    )


def bookings_out(bookings: Iterable[Booking], side: Side) -> list[BookingOut]:
    rows = list(bookings)
    names = public_names(b.profile_id for b in rows)
    return [booking_out(b, side, names) for b in rows]


def one_booking_out(booking: Booking, side: Side) -> BookingOut:
    return bookings_out([booking], side)[0]


def request_out(
    req: AvailabilityRequest, side: Side, names: dict[int, str], bookings: list[int]
) -> AvailabilityRequestOut:
    return AvailabilityRequestOut(
        id=req.pk,
        side=side,
        status=req.status,
        status_label=str(RequestStatus(req.status).label),
        brand=req.brand.slug,
        specialist=specialist_ref(req.profile, names),
        patient=patient_ref(req, side),
        session_type=session_type_ref(req.session_type),
        preferred=[WindowOut(start=utc(a), end=utc(b)) for a, b in preferred_windows(req)],
        patient_time_zone=req.patient_time_zone,
        respond_by=utc(req.respond_by),
        responded_at=utc(req.responded_at),
        created_at=utc(req.created_at),
        bookings=bookings,
    )


def requests_out(
    rows: Iterable[tuple[AvailabilityRequest, Side]],
) -> list[AvailabilityRequestOut]:
    rows = list(rows)
    names = public_names(req.profile_id for req, _side in rows)
    booked: dict[int, list[int]] = {req.pk: [] for req, _side in rows}
    for req_id, booking_id in (
        Booking.objects.filter(availability_request_id__in=list(booked))
        .order_by("pk")
        .values_list("availability_request_id", "pk")
    ):
        booked[req_id].append(booking_id)
    return [request_out(req, side, names, booked[req.pk]) for req, side in rows]
