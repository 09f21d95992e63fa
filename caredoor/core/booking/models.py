"""Bookings: a patient's hold on a specialist's time, in UTC with the buffers it blocks.

No double booking by construction (ARCHITECTURE rule 6): an active booking holds
``[blocked_start, blocked_end)`` -- its time widened by the session type's buffers -- and no
two active bookings of one specialist may overlap there. On PostgreSQL an exclusion
constraint (created in migration 0001, PostgreSQL only) enforces it; on SQLite
``actions.do_book`` checks inside a write-locked (IMMEDIATE) transaction.
"""

from __future__ import annotations

from django.conf import settings
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


# The statuses that hold the specialist's time. Keep in step with the exclusion
# constraint's WHERE clause in migrations/0001_initial.py.
ACTIVE_STATUSES: tuple[str, ...] = (
    BookingStatus.PENDING_PAYMENT,
    BookingStatus.PROPOSED,
    BookingStatus.CONFIRMED,
)


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
