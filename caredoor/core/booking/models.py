"""Bookings: a patient's hold on a specialist's time, in UTC with the buffers it blocks.

No double booking by construction (ARCHITECTURE rule 6): an active booking holds
``[blocked_start, blocked_end)`` -- its time widened by the session type's buffers -- and no
two active bookings of one specialist may overlap there. On PostgreSQL an exclusion
constraint (created in migration 0001, PostgreSQL only) enforces it; on SQLite
``actions.do_book`` checks inside a write-locked (IMMEDIATE) transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from caredoor.core.brands.models import Brand
from caredoor.core.scheduling.models import SessionType
from caredoor.core.specialists.models import SpecialistProfile

NO_OVERLAP_CONSTRAINT = "booking_no_overlap"  # the PostgreSQL exclusion constraint


class BookingStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Pending payment")
    PROPOSED = "proposed", _("Proposed")
    REQUESTED = "requested", _("Requested")
    CONFIRMED = "confirmed", _("Confirmed")
    RESCHEDULED = "rescheduled", _("Rescheduled")
    CANCELLED_BY_PATIENT = "cancelled_by_patient", _("Cancelled by the patient")
    CANCELLED_BY_SPECIALIST = "cancelled_by_specialist", _("Cancelled by the specialist")
    COMPLETED = "completed", _("Completed")
    NO_SHOW = "no_show", _("No-show")
    EXPIRED = "expired", _("Expired")
    DECLINED = "declined", _("Declined by the patient")


# The statuses that hold the specialist's time. Keep in step with the exclusion
# constraint's WHERE clause in migrations/0001_initial.py.
ACTIVE_STATUSES: tuple[str, ...] = (
    BookingStatus.PENDING_PAYMENT,
    BookingStatus.PROPOSED,
    BookingStatus.CONFIRMED,
)


# Who asked for the booking: the patient booking directly, or the specialist scheduling.
class Origin(models.TextChoices):
    PATIENT = "patient", _("Booked by the patient")
    PROPOSAL = "proposal", _("Proposed by the specialist")
    REQUEST = "request", _("Answer to an availability request")
    SERIES = "series", _("Part of a recurring series")
    RESCHEDULE = "reschedule", _("Rescheduled")


class BookingQuerySet(models.QuerySet["Booking"]):
    def active(self) -> BookingQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def blocking(self, start, end) -> BookingQuerySet:  # type: ignore[no-untyped-def]
        """Active bookings whose blocked range overlaps ``[start, end)``."""
        return self.active().filter(blocked_start__lt=end, blocked_end__gt=start)


class Booking(models.Model):
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    profile = models.ForeignKey(
        SpecialistProfile, on_delete=models.PROTECT, related_name="bookings"
    )
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings"
    )
    session_type = models.ForeignKey(SessionType, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField(_("starts"))
    end = models.DateTimeField(_("ends"))
    blocked_start = models.DateTimeField(help_text="start - buffer before (set by the action)")
    blocked_end = models.DateTimeField(help_text="end + buffer after (set by the action)")
    status = models.CharField(
        _("status"), max_length=32, choices=BookingStatus.choices, default=BookingStatus.CONFIRMED
    )
    patient_time_zone = models.CharField(_("patient's time zone"), max_length=64)
    price_minor = models.PositiveIntegerField(
        _("price (minor units)"), null=True, blank=True, help_text=_("Empty: covered or unset.")
    )
    currency = models.CharField(_("currency"), max_length=3)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    origin = models.CharField(
        _("origin"), max_length=16, choices=Origin.choices, default=Origin.PATIENT
    )
    # The policy in force when the booking was made (policy.snapshot): later changes to the
    # brand's or the specialist's policy never rewrite it.
    policy = models.JSONField(_("policy at booking time"), default=dict, blank=True)
    # Proposals and bookings awaiting payment lapse at this time (the expiry job and every
    # answer check it).
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    requires_payment = models.BooleanField(_("payment required before confirmation"), default=False)
    responded_at = models.DateTimeField(_("patient answered"), null=True, blank=True)
    # A late cancellation or a no-show: the share of the price the policy charges.
    fee_percent = models.PositiveSmallIntegerField(_("fee (percent)"), null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    series = models.ForeignKey(
        "BookingSeries",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
    )
    rescheduled_from = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="rescheduled_to",
    )
    availability_request = models.ForeignKey(
        "AvailabilityRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bookings",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["start", "pk"]
        indexes = [
            models.Index(fields=["profile", "blocked_start"], name="booking_profile_blocked"),
            models.Index(fields=["patient", "start"], name="booking_patient_start"),
        ]
        constraints = [
            models.CheckConstraint(
                name="booking_ends_after_it_starts",
                condition=Q(end__gt=F("start"))
                & Q(blocked_start__lte=F("start"))
                & Q(blocked_end__gte=F("end")),
            )
        ]

    def __str__(self) -> str:
        return f"booking {self.pk} {self.start:%Y-%m-%d %H:%M} UTC ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class SelfBooking(models.TextChoices):
    OPEN = "open", _("Patients book from the free times")
    FIRST_ONLY = "first_only", _("Only the first session; after it the specialist schedules")
    OFF = "off", _("Patients cannot book directly")


class BookingPolicy(models.Model):
    """A brand's booking rules (``profile`` empty) or one specialist's overrides on a brand.

    On an override row an empty field means "as the brand says". ``policy.effective``
    merges defaults, the brand row and the override; ``policy.snapshot`` is what a booking
    keeps.
    """

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="booking_policies")
    profile = models.ForeignKey(
        SpecialistProfile,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="booking_policies",
    )
    self_booking = models.CharField(
        _("direct booking by patients"), max_length=16, choices=SelfBooking.choices, blank=True
    )
    cancel_notice_hours = models.PositiveSmallIntegerField(
        _("free cancellation until (hours before)"), null=True, blank=True
    )
    reschedule_notice_hours = models.PositiveSmallIntegerField(
        _("rescheduling possible until (hours before)"), null=True, blank=True
    )
    late_cancel_fee_percent = models.PositiveSmallIntegerField(
        _("late cancellation fee (percent of the price)"), null=True, blank=True
    )
    no_show_fee_percent = models.PositiveSmallIntegerField(
        _("no-show fee (percent of the price)"), null=True, blank=True
    )
    proposal_expiry_hours = models.PositiveSmallIntegerField(
        _("proposals expire after (hours)"), null=True, blank=True
    )
    proposals_require_payment = models.BooleanField(
        _("proposals need payment before confirmation"), null=True, blank=True
    )
    request_response_hours = models.PositiveSmallIntegerField(
        _("availability requests must be answered within (hours)"), null=True, blank=True
    )
    reminder_offsets_minutes = models.JSONField(
        _("reminders (minutes before)"),
        null=True,
        blank=True,
        help_text=_("Brand only, e.g. [1440, 60] for 24 hours and 1 hour before."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand"], condition=Q(profile__isnull=True), name="one_policy_per_brand"
            ),
            models.UniqueConstraint(
                fields=["brand", "profile"],
                condition=Q(profile__isnull=False),
                name="one_override_per_specialist_and_brand",
            ),
        ]

    def __str__(self) -> str:
        return f"policy {self.brand_id}/{self.profile_id or '-'}"


class RequestStatus(models.TextChoices):
    REQUESTED = "requested", _("Waiting for the specialist")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn by the patient")


class AvailabilityRequest(models.Model):
    """A patient asks a specialist for a time: the "requested" state of the lifecycle.

    It holds no time yet, so it is its own row; the specialist answers by proposing a slot
    (a booking linked here) or declining, by ``respond_by``, after which it expires.
    """

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    profile = models.ForeignKey(
        SpecialistProfile, on_delete=models.PROTECT, related_name="availability_requests"
    )
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="availability_requests"
    )
    session_type = models.ForeignKey(SessionType, on_delete=models.PROTECT, related_name="+")
    # The patient's preferred periods, UTC ISO pairs: [["2026-11-23T08:00:00+00:00", ...]].
    preferred = models.JSONField(_("preferred times"), default=list)
    patient_time_zone = models.CharField(_("patient's time zone"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.REQUESTED
    )
    respond_by = models.DateTimeField(_("answer by"))
    responded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "respond_by"], name="request_open_due")]

    def __str__(self) -> str:
        return f"request {self.pk} ({self.status})"


class BookingSeries(models.Model):
    """Recurring sessions: every ``interval_weeks`` weeks at the same local time."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    profile = models.ForeignKey(
        SpecialistProfile, on_delete=models.PROTECT, related_name="booking_series"
    )
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="booking_series"
    )
    session_type = models.ForeignKey(SessionType, on_delete=models.PROTECT, related_name="+")
    interval_weeks = models.PositiveSmallIntegerField(
        _("every (weeks)"), validators=[MinValueValidator(1), MaxValueValidator(2)]
    )
    count = models.PositiveSmallIntegerField(
        _("occurrences"), validators=[MinValueValidator(2), MaxValueValidator(52)]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"series {self.pk} every {self.interval_weeks} week(s) x{self.count}"
