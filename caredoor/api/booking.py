"""Booking in the API: slots, bookings, proposals, availability requests and series.

Thin like the portals: each handler validates its input with a schema, resolves who is
calling on this host's brand, reads only through the scoped helpers
(``core/booking/access.py``, ``public_profiles_on``) and calls the booking actions. The
rules are the actions' own; nothing here decides what is allowed beyond who may ask.

Who is calling:

- a *patient* holds the patient role on this brand and sees their own bookings and
  requests on this brand;
- a *specialist* holds the specialist role in this brand's network and has a profile
  there; they see their own profile's bookings and requests on every brand of the
  network, as their calendar in the specialist portal on this host does. Proposals and
  series are made on this host's brand.

On a booking or request the side (patient or specialist) follows from the lookup, never
from the request body. Missing and forbidden objects both answer 404; a collection the
caller has no role for answers 403; visitors 401. The directory reads (session types,
slots, next available) are public on public brands and need a patient of the brand on
private ones, as the portal's directory does. Errors: see ``caredoor/api/errors.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.security import django_auth

from caredoor.api import booking_schemas as s
from caredoor.api.errors import ErrorOut, SeriesConflictsOut, SlotTakenOut, occurrence_out
from caredoor.api.errors import series_conflicts_body as conflicts_body
from caredoor.core.accounts.policy import Role
from caredoor.core.accounts.queries import memberships_on_brand
from caredoor.core.booking import access, policy, proposals, requests, series
from caredoor.core.booking.actions import (
    do_complete,
    do_mark_no_show,
    self_booking_refusal,
)
from caredoor.core.booking.errors import SeriesConflicts
from caredoor.core.booking.models import AvailabilityRequest, Booking, BookingStatus
from caredoor.core.booking.queries import busy_intervals, next_available
from caredoor.core.brands.models import Brand
from caredoor.core.payments import cancellation, checkout, moves
from caredoor.core.scheduling import availability
from caredoor.core.scheduling.models import SessionType
from caredoor.core.scheduling.queries import access_own_session_type, zone_of
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.specialists.pricing import listing_price
from caredoor.core.specialists.queries import (
    access_public_profile,
    own_profile,
    public_listings_on,
    public_profiles_on,
)

router = Router(auth=django_auth, tags=["booking"])

MAX_SLOT_RANGE = timedelta(days=31)
DEFAULT_SLOT_RANGE = timedelta(days=7)
NEXT_AVAILABLE_DAYS = 30
MAX_BATCH = 50
MAX_PAGE = 500
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {**ERRORS, 409: SlotTakenOut}


# --- who is calling -----------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    user: Any
    brand: Brand
    is_patient: bool
    profile: SpecialistProfile | None  # their own profile when they are a specialist here


def brand_of(request: HttpRequest) -> Brand:
    brand = getattr(request, "brand", None)
    if brand is None:  # the platform host carries no brand and no bookings
        raise Http404
    return brand


def caller(request: HttpRequest) -> Caller:
    brand = brand_of(request)
    roles = set(memberships_on_brand(request.user, brand).values_list("role", flat=True))
    profile = own_profile(request.user, brand.network_id) if Role.SPECIALIST in roles else None
    return Caller(request.user, brand, Role.PATIENT in roles, profile)


def as_patient(request: HttpRequest) -> Caller:
    who = caller(request)
    if not who.is_patient:
        raise HttpError(403, _("Only patients of this service can do this here."))
    return who


def as_specialist(request: HttpRequest) -> Caller:
    who = caller(request)
    if who.profile is None:
        raise HttpError(403, _("Only specialists of this network can do this here."))
    return who


def directory_brand(request: HttpRequest) -> Brand:
    """Public brands show their directory to everyone; private programs only to their own
    signed-in patients (the portal's ``directory_view`` rule)."""
    brand = brand_of(request)
    if brand.is_private:
        if not request.user.is_authenticated:
            raise AuthenticationError()
        if not memberships_on_brand(request.user, brand).filter(role=Role.PATIENT).exists():
            raise HttpError(403, _("This program's directory is for its patients."))
    return brand


def _find(who: Caller, object_id: int, as_patient: Any, as_specialist: Any) -> tuple[Any, s.Side]:
    """The caller's object and their side on it, through the scoped ``access`` lookups
    (patient first); 404 for missing and forbidden alike."""
    if who.is_patient:
        try:
            return as_patient(who.user, who.brand, object_id), "patient"
        except Http404:
            pass
    if who.profile is not None:
        return as_specialist(who.profile, object_id), "specialist"
    raise Http404


def _require_side(found: s.Side, side: s.Side) -> None:
    if found != side:
        raise HttpError(
            403,
            _("Only the patient can do this.")
            if side == "patient"
            else _("Only the specialist can do this."),
        )


def find_booking(who: Caller, booking_id: int) -> tuple[Booking, s.Side]:
    return _find(who, booking_id, access.access_patient_booking, access.access_specialist_booking)


def booking_as(who: Caller, booking_id: int, side: s.Side) -> Booking:
    booking, found = find_booking(who, booking_id)
    _require_side(found, side)
    return booking


def find_request(who: Caller, request_id: int) -> tuple[AvailabilityRequest, s.Side]:
    return _find(who, request_id, access.access_patient_request, access.access_specialist_request)


def request_as(who: Caller, request_id: int, side: s.Side) -> AvailabilityRequest:
    req, found = find_request(who, request_id)
    _require_side(found, side)
    return req


# --- what may be booked here --------------------------------------------------------------


def _offered_here(brand: Brand) -> Q:
    return Q(is_active=True) & (Q(brand__isnull=True) | Q(brand=brand))


def offered_session_types(brand: Brand, profile_id: int) -> QuerySet[SessionType]:
    """The session types of a profile (already checked visible here) offered on ``brand``."""
    return (
        SessionType.objects.filter(_offered_here(brand), profile_id=profile_id)
        .select_related("profile")
        .order_by("name", "pk")
    )


def offered_session_type(brand: Brand, session_type_id: int, field: str) -> SessionType:
    """A session type patients of ``brand`` may see, else a field error (missing, another
    brand's, inactive, or a specialist not visible here all read the same)."""
    found = (
        SessionType.objects.filter(_offered_here(brand), pk=session_type_id)
        .select_related("profile")
        .first()
    )
    if found is None or not public_profiles_on(brand).filter(profile_id=found.profile_id).exists():
        raise ValidationError(
            {field: _("This session type is not offered here.")}, code="session_type_unavailable"
        )
    return found


def own_session_type(who: Caller, session_type_id: int) -> SessionType:
    assert who.profile is not None
    try:
        return access_own_session_type(who.profile, session_type_id)
    except Http404:
        raise ValidationError(
            {"session_type": _("Choose one of your session types.")}, code="unknown_session_type"
        ) from None


def own_patient(who: Caller, patient_id: int) -> Any:
    """One of the specialist's patients on this brand (those who booked or asked here)."""
    assert who.profile is not None
    found = access.patients_of(who.profile, who.brand).filter(pk=patient_id).first()
    if found is None:
        raise ValidationError(
            {"patient": _("Choose one of your patients.")}, code="unknown_patient"
        )
    return found


# --- the directory: session types, slots, next available ----------------------------------


@router.get(
    "/specialists/{profile_id}/session-types",
    auth=None,
    response={200: list[s.SessionTypeOut], **ERRORS},
    summary="The session types patients can see for a specialist on this brand",
)
def session_types(request: HttpRequest, profile_id: s.Id):  # type: ignore[no-untyped-def]
    brand = directory_brand(request)
    published = access_public_profile(brand, profile_id)
    listing = public_listings_on(brand, [profile_id]).get(profile_id)
    price = listing_price(listing) if listing is not None else None
    judged = request.user if caller(request).is_patient else None
    result = []
    for st in offered_session_types(brand, published.profile_id):
        result.append(
            s.SessionTypeOut(
                id=st.pk,
                name=st.name,
                duration_minutes=st.duration_minutes,
                slot_step_minutes=st.slot_step_minutes,
                min_notice_minutes=st.min_notice_minutes,
                horizon_days=st.horizon_days,
                direct_booking=st.direct_booking,
                booking_refusal=self_booking_refusal(judged, brand, st),
                price=s.PriceOut(
                    amount_minor=price.amount_minor if price else None,
                    currency=price.currency if price else brand.currency,
                    covered=price.covered if price else False,
                    display=price.display if price else "",
                ),
            )
        )
    return result


@router.get(
    "/specialists/{profile_id}/slots",
    auth=None,
    response={200: s.SlotsOut, **ERRORS},
    summary="Free start times of a session type (at most 31 days at a time)",
)
def slots(request: HttpRequest, profile_id: s.Id, q: Query[s.SlotsQuery]):  # type: ignore[no-untyped-def]
    brand = directory_brand(request)
    published = access_public_profile(brand, profile_id)
    session_type = offered_session_type(brand, q.session_type, "session_type")
    if session_type.profile_id != published.profile_id:
        raise ValidationError(
            {"session_type": _("This session type is not offered here.")},
            code="session_type_unavailable",
        )
    now = timezone.now()
    start = q.start or now
    end = q.end or start + DEFAULT_SLOT_RANGE
    if end <= start:
        raise ValidationError({"end": _("The end must be after the start.")}, code="bad_range")
    if end - start > MAX_SLOT_RANGE:
        raise ValidationError(
            {"end": _("Ask for at most %(n)s days at a time.") % {"n": MAX_SLOT_RANGE.days}},
            code="range_too_long",
        )
    buffers = timedelta(
        minutes=session_type.buffer_before_minutes + session_type.buffer_after_minutes
    )
    busy = busy_intervals(session_type.profile_id, start - buffers, end + buffers)
    found = availability.free_slots(session_type, start=start, end=end, now=now, busy=busy)
    viewer = ZoneInfo(q.tz) if q.tz else None
    return s.SlotsOut(
        profile_id=published.profile_id,
        session_type_id=session_type.pk,
        time_zone=zone_of(session_type.profile),
        viewer_time_zone=q.tz,
        start=s.utc(start),
        end=s.utc(end),
        slots=[
            s.SlotWithZoneOut(
                start=s.utc(slot.start),
                end=s.utc(slot.end),
                local_start=slot.start.astimezone(viewer).isoformat() if viewer else None,
                local_end=slot.end.astimezone(viewer).isoformat() if viewer else None,
            )
            for slot in found
        ],
    )


@router.get(
    "/specialists/next-available",
    auth=None,
    response={200: list[s.NextAvailableOut], **ERRORS},
    summary="The first free time within 30 days, for several specialists or session types",
)
def next_available_batch(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    profile: Query[list[s.Id]] = [],  # noqa: B006 (ninja reads the default, never mutates it)
    session_type: Query[list[s.Id]] = [],  # noqa: B006
):
    """``profile``: per specialist, the earliest free time over the session types patients
    can book directly. ``session_type``: per session type. Ids not visible here are left out
    of the answer (as if they did not exist)."""
    brand = directory_brand(request)
    if not profile and not session_type:
        raise ValidationError(_("Give at least one profile or session_type."), code="nothing_asked")
    if len(profile) + len(session_type) > MAX_BATCH:
        raise ValidationError(
            _("Ask for at most %(n)s at a time.") % {"n": MAX_BATCH}, code="too_many"
        )
    asked = set(profile) | set(
        SessionType.objects.filter(pk__in=session_type).values_list("profile_id", flat=True)
    )
    visible = set(
        public_profiles_on(brand).filter(profile_id__in=asked).values_list("profile_id", flat=True)
    )
    types = list(
        SessionType.objects.filter(_offered_here(brand), profile_id__in=visible).select_related(
            "profile"
        )
    )
    wanted_types = set(session_type)
    chosen = [
        st
        for st in types
        if st.pk in wanted_types or (st.profile_id in set(profile) and st.direct_booking)
    ]
    found = next_available(chosen, now=timezone.now(), days=NEXT_AVAILABLE_DAYS) if chosen else {}
    result = []
    by_pk = {st.pk: st for st in types}
    for pid in dict.fromkeys(profile):
        if pid not in visible:
            continue
        candidates = [
            (slot, st_id)
            for st_id, slot in found.items()
            if slot is not None and by_pk[st_id].profile_id == pid and by_pk[st_id].direct_booking
        ]
        first = min(candidates, key=lambda pair: (pair[0].start, pair[1]), default=None)
        result.append(
            s.NextAvailableOut(
                profile_id=pid,
                session_type_id=first[1] if first else None,
                start=s.utc(first[0].start) if first else None,
                end=s.utc(first[0].end) if first else None,
            )
        )
    for st_id in dict.fromkeys(session_type):
        if st_id not in by_pk or st_id not in found:
            continue
        slot = found[st_id]
        result.append(
            s.NextAvailableOut(
                profile_id=by_pk[st_id].profile_id,
                session_type_id=st_id,
                start=s.utc(slot.start) if slot else None,
                end=s.utc(slot.end) if slot else None,
            )
        )
    return result


# --- bookings -----------------------------------------------------------------------------


class BookingFilter(Schema):
    status: list[str] = []
    start_after: s.AwareDateTime | None = None
    start_before: s.AwareDateTime | None = None
    limit: int = Field(100, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=s.MAX_ID)


def _filtered(qs: QuerySet[Booking], f: BookingFilter) -> QuerySet[Booking]:
    unknown = [v for v in f.status if v not in BookingStatus.values]
    if unknown:
        raise ValidationError(
            {"status": _("Unknown status: %(s)s.") % {"s": ", ".join(unknown)}}, code="invalid"
        )
    if f.status:
        qs = qs.filter(status__in=f.status)
    if f.start_after:
        qs = qs.filter(start__gte=f.start_after)
    if f.start_before:
        qs = qs.filter(start__lt=f.start_before)
    return qs.order_by("start", "pk")[f.offset : f.offset + f.limit]


@router.get(
    "/bookings",
    response={200: list[s.BookingOut], **ERRORS},
    summary="The patient's own bookings on this brand",
)
def my_bookings(request: HttpRequest, f: Query[BookingFilter]):  # type: ignore[no-untyped-def]
    who = as_patient(request)
    return s.bookings_out(_filtered(access.patient_bookings(who.user, who.brand), f), "patient")


@router.post(
    "/bookings",
    response={201: s.BookingOut, **WRITE_ERRORS},
    summary="Book a free time (patients)",
)
def book(request: HttpRequest, payload: s.BookIn):  # type: ignore[no-untyped-def]
    who = as_patient(request)
    session_type = offered_session_type(who.brand, payload.session_type, "session_type")
    # Priced sessions on brands that take payments are held until paid (pay_path).
    booking, _payment = checkout.do_book(
        patient=who.user,
        brand=who.brand,
        session_type=session_type,
        start=payload.start,
        voucher_code=payload.voucher,
        request=request,
    )
    return Status(201, _reread(who, booking.pk, "patient"))


@router.get(
    "/specialist/bookings",
    response={200: list[s.BookingOut], **ERRORS},
    summary="The specialist's own bookings on every brand of the network",
)
def specialist_bookings(request: HttpRequest, f: Query[BookingFilter]):  # type: ignore[no-untyped-def]
    who = as_specialist(request)
    assert who.profile is not None
    return s.bookings_out(_filtered(access.specialist_bookings(who.profile), f), "specialist")


@router.get(
    "/specialist/patients",
    response={200: list[s.PatientOut], **ERRORS},
    summary="The specialist's patients on this brand (whom proposals and series may name)",
)
def specialist_patients(request: HttpRequest):  # type: ignore[no-untyped-def]
    who = as_specialist(request)
    assert who.profile is not None
    return [
        s.PatientOut(id=p.pk, name=p.display_name)
        for p in access.patients_of(who.profile, who.brand)
    ]


@router.get(
    "/bookings/{booking_id}",
    response={200: s.BookingOut, **ERRORS},
    summary="One booking (its patient or its specialist)",
)
def booking_detail(request: HttpRequest, booking_id: s.Id):  # type: ignore[no-untyped-def]
    booking, side = find_booking(caller(request), booking_id)
    return s.one_booking_out(booking, side)


def _reread(who: Caller, booking_id: int, side: s.Side) -> s.BookingOut:
    booking = (
        access.access_patient_booking(who.user, who.brand, booking_id)
        if side == "patient"
        else access.access_specialist_booking(who.profile, booking_id)  # type: ignore[arg-type]
    )
    return s.one_booking_out(booking, side)


@router.get(
    "/bookings/{booking_id}/cancellation-terms",
    response={200: s.CancellationTermsOut, **ERRORS},
    summary="What cancelling or moving this booking now would cost (nothing is changed)",
)
def cancellation_terms(request: HttpRequest, booking_id: s.Id):  # type: ignore[no-untyped-def]
    booking, side = find_booking(caller(request), booking_id)
    now = timezone.now()
    cancellable = booking.status in (BookingStatus.CONFIRMED, BookingStatus.PENDING_PAYMENT)
    # As do_cancel: only a patient cancelling a confirmed session can owe a fee.
    if side == "patient" and booking.status == BookingStatus.CONFIRMED:
        terms = policy.cancellation_terms(booking, now)
        free, fee, free_until = terms.free, terms.fee_percent, s.utc(terms.free_until)
    else:
        free, fee, free_until = True, 0, None
    movable = booking.status == BookingStatus.CONFIRMED
    if side == "patient":
        may_move = movable and policy.may_reschedule(booking, now)
        move_until = s.utc(policy.reschedule_until(booking))
    else:
        # The specialist may move a confirmed session to any free future time, any time.
        may_move, move_until = movable, None
    return s.CancellationTermsOut(
        booking_id=booking.pk,
        cancellable=cancellable,
        free=free,
        fee_percent=fee,
        free_until=free_until,
        may_reschedule=may_move,
        reschedule_until=move_until,
    )


@router.post(
    "/bookings/{booking_id}/cancel",
    response={200: s.CancelOut, **ERRORS},
    summary="Cancel (patient or specialist: the side is the caller's)",
)
def cancel(request: HttpRequest, booking_id: s.Id, payload: s.CancelIn | None = None):  # type: ignore[no-untyped-def]
    who = caller(request)
    booking, side = find_booking(who, booking_id)
    reason = payload.reason if payload is not None else ""
    done, _refund = cancellation.do_cancel(
        booking, by=side, actor=who.user, reason=reason, request=request
    )
    return s.CancelOut(
        booking=_reread(who, done.pk, side),
        late=done.fee_percent is not None,
        fee_percent=done.fee_percent or 0,
    )


@router.post(
    "/bookings/{booking_id}/reschedule",
    response={201: s.BookingOut, **WRITE_ERRORS},
    summary="Move a confirmed booking; answers the new booking that takes its place",
)
def reschedule(request: HttpRequest, booking_id: s.Id, payload: s.StartIn):  # type: ignore[no-untyped-def]
    who = caller(request)
    booking, side = find_booking(who, booking_id)
    moved = moves.do_reschedule(booking, actor=who.user, start=payload.start, request=request)
    return Status(201, _reread(who, moved.pk, side))


def _answer(request: HttpRequest, booking_id: int, side: s.Side, action: Any) -> s.BookingOut:
    who = caller(request)
    booking = booking_as(who, booking_id, side)
    action(booking, actor=who.user, request=request)
    return _reread(who, booking.pk, side)


@router.post(
    "/bookings/{booking_id}/accept",
    response={200: s.BookingOut, **ERRORS},
    summary="Accept a proposal (patients): confirmed, or pending payment",
)
def accept(request: HttpRequest, booking_id: s.Id):  # type: ignore[no-untyped-def]
    return _answer(request, booking_id, "patient", proposals.do_accept_proposal)


@router.post(
    "/bookings/{booking_id}/decline",
    response={200: s.BookingOut, **ERRORS},
    summary="Decline a proposal (patients)",
)
def decline(request: HttpRequest, booking_id: s.Id):  # type: ignore[no-untyped-def]
    return _answer(request, booking_id, "patient", proposals.do_decline_proposal)


@router.post(
    "/bookings/{booking_id}/withdraw",
    response={200: s.BookingOut, **ERRORS},
    summary="Withdraw an unanswered proposal (specialists)",
)
def withdraw(request: HttpRequest, booking_id: s.Id):  # type: ignore[no-untyped-def]
    return _answer(request, booking_id, "specialist", proposals.do_withdraw_proposal)


@router.post(
    "/bookings/{booking_id}/complete",
    response={200: s.BookingOut, **ERRORS},
    summary="Record the session as held (specialists, once it has started)",
)
def complete(request: HttpRequest, booking_id: s.Id):  # type: ignore[no-untyped-def]
    return _answer(request, booking_id, "specialist", do_complete)


@router.post(
    "/bookings/{booking_id}/no-show",
    response={200: s.BookingOut, **ERRORS},
    summary="Record that the patient did not come (specialists, once it has started)",
)
def no_show(request: HttpRequest, booking_id: s.Id):  # type: ignore[no-untyped-def]
    return _answer(request, booking_id, "specialist", do_mark_no_show)


@router.post(
    "/proposals",
    response={201: s.BookingOut, **WRITE_ERRORS},
    summary="Propose a time to one of your patients (specialists)",
)
def propose(request: HttpRequest, payload: s.ProposeIn):  # type: ignore[no-untyped-def]
    who = as_specialist(request)
    session_type = own_session_type(who, payload.session_type)
    patient = own_patient(who, payload.patient)
    booking = proposals.do_propose(
        actor=who.user,
        brand=who.brand,
        patient=patient,
        session_type=session_type,
        start=payload.start,
        expires_at=payload.expires_at,
        requires_payment=payload.requires_payment,
        request=request,
    )
    return Status(201, _reread(who, booking.pk, "specialist"))


# --- availability requests ----------------------------------------------------------------


class RequestFilter(Schema):
    status: list[str] = []


@router.get(
    "/availability-requests",
    response={200: list[s.AvailabilityRequestOut], **ERRORS},
    summary="Your availability requests: as a patient on this brand, as a specialist",
)
def my_requests(request: HttpRequest, f: Query[RequestFilter]):  # type: ignore[no-untyped-def]
    who = caller(request)
    if not who.is_patient and who.profile is None:
        raise HttpError(403, _("Only patients and specialists have availability requests."))
    rows: list[tuple[AvailabilityRequest, s.Side]] = []
    if who.is_patient:
        qs = access.patient_requests(who.user, who.brand)
        rows += [(r, "patient") for r in (qs.filter(status__in=f.status) if f.status else qs)]
    if who.profile is not None:
        qs = access.specialist_requests(who.profile)
        rows += [(r, "specialist") for r in (qs.filter(status__in=f.status) if f.status else qs)]
    rows.sort(key=lambda pair: (pair[0].created_at, pair[0].pk), reverse=True)
    return s.requests_out(rows)


@router.post(
    "/availability-requests",
    response={201: s.AvailabilityRequestOut, **ERRORS},
    summary="Ask a specialist for a time (patients)",
)
def ask(request: HttpRequest, payload: s.RequestIn):  # type: ignore[no-untyped-def]
    who = as_patient(request)
    session_type = offered_session_type(who.brand, payload.session_type, "session_type")
    created = requests.do_request_availability(
        patient=who.user,
        brand=who.brand,
        session_type=session_type,
        preferred=[(w.start, w.end) for w in payload.preferred],
        request=request,
    )
    req = access.access_patient_request(who.user, who.brand, created.pk)
    return Status(201, s.requests_out([(req, "patient")])[0])


@router.get(
    "/availability-requests/{request_id}",
    response={200: s.AvailabilityRequestOut, **ERRORS},
    summary="One availability request (its patient or its specialist)",
)
def request_detail(request: HttpRequest, request_id: s.Id):  # type: ignore[no-untyped-def]
    req, side = find_request(caller(request), request_id)
    return s.requests_out([(req, side)])[0]


@router.post(
    "/availability-requests/{request_id}/accept",
    response={201: s.BookingOut, **WRITE_ERRORS},
    summary="Answer with a time (specialists): booked inside the patient's periods, else proposed",
)
def accept_request(request: HttpRequest, request_id: s.Id, payload: s.StartIn):  # type: ignore[no-untyped-def]
    who = caller(request)
    req = request_as(who, request_id, "specialist")
    booking = requests.do_accept_request(req, actor=who.user, start=payload.start, request=request)
    return Status(201, _reread(who, booking.pk, "specialist"))


def _answer_request(
    request: HttpRequest, request_id: int, side: s.Side, action: Any
) -> s.AvailabilityRequestOut:
    who = caller(request)
    req = request_as(who, request_id, side)
    action(req, actor=who.user, request=request)
    req, side = find_request(who, request_id)
    return s.requests_out([(req, side)])[0]


@router.post(
    "/availability-requests/{request_id}/decline",
    response={200: s.AvailabilityRequestOut, **ERRORS},
    summary="Decline a request (specialists)",
)
def decline_request(request: HttpRequest, request_id: s.Id):  # type: ignore[no-untyped-def]
    return _answer_request(request, request_id, "specialist", requests.do_decline_request)


@router.post(
    "/availability-requests/{request_id}/withdraw",
    response={200: s.AvailabilityRequestOut, **ERRORS},
    summary="Withdraw your request (patients)",
)
def withdraw_request(request: HttpRequest, request_id: s.Id):  # type: ignore[no-untyped-def]
    return _answer_request(request, request_id, "patient", requests.do_withdraw_request)


# --- recurring series ---------------------------------------------------------------------


@router.post(
    "/series/preview",
    response={200: s.SeriesPreviewOut, **ERRORS},
    summary="Every occurrence of a planned series with its conflict (nothing is written)",
)
def series_preview(request: HttpRequest, payload: s.SeriesPreviewIn):  # type: ignore[no-untyped-def]
    who = as_specialist(request)
    session_type = own_session_type(who, payload.session_type)
    proposals.require_specialist_of(session_type, who.user, who.brand)
    occurrences = series.preview(
        session_type,
        first_start=payload.first_start,
        interval_weeks=payload.interval_weeks,
        count=payload.count,
    )
    zone = zone_of(who.profile)
    return s.SeriesPreviewOut(
        time_zone=zone,
        all_free=all(o.ok for o in occurrences),
        occurrences=[occurrence_out(o, zone) for o in occurrences],
    )


@router.post(
    "/series",
    response={201: s.SeriesOut, **ERRORS, 409: SeriesConflictsOut},
    summary="Schedule a confirmed series for one of your patients (specialists)",
)
def create_series(request: HttpRequest, payload: s.SeriesIn):  # type: ignore[no-untyped-def]
    who = as_specialist(request)
    assert who.profile is not None
    session_type = own_session_type(who, payload.session_type)
    patient = own_patient(who, payload.patient)
    zone = zone_of(who.profile)
    try:
        created = series.do_create_series(
            actor=who.user,
            brand=who.brand,
            patient=patient,
            session_type=session_type,
            first_start=payload.first_start,
            interval_weeks=payload.interval_weeks,
            count=payload.count,
            skip_conflicts=payload.skip_conflicts,
            request=request,
        )
    except SeriesConflicts as exc:
        return Status(409, conflicts_body(exc, zone))
    bookings = access.specialist_bookings(who.profile).filter(series=created).order_by("start")
    return Status(
        201,
        s.SeriesOut(
            id=created.pk,
            interval_weeks=created.interval_weeks,
            count=created.count,
            time_zone=zone,
            bookings=s.bookings_out(bookings, "specialist"),
        ),
    )
