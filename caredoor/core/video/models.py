"""Video rooms and attendance.

A **room** belongs to one booking (or, where the brand allows, to an ad-hoc call a
specialist starts within a care relationship). Its ``name`` is opaque: it names the room
to the provider and the signaling group, and says nothing about the people in it.
**Attendance** is one row per join: who (patient or specialist), from when to when.
Durations and "did both attend" are read from these rows.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from caredoor.core.booking.models import Booking
from caredoor.core.brands.models import Brand
from caredoor.core.specialists.models import SpecialistProfile


def _room_name() -> str:
    return uuid.uuid4().hex


class RoomKind(models.TextChoices):
    BOOKING = "booking", _("Booked session")
    ADHOC = "adhoc", _("Call outside a booking")


class Side(models.TextChoices):
    PATIENT = "patient", _("Patient")
    SPECIALIST = "specialist", _("Specialist")


class Outcome(models.TextChoices):
    """What attendance says about a room once it is settled (``settle.py``)."""

    MET = "met", _("Both attended")
    PATIENT_ABSENT = "patient_absent", _("The patient did not join")
    SPECIALIST_ABSENT = "specialist_absent", _("The specialist did not join")
    APART = "apart", _("Both joined, not at the same time")
    NOBODY = "nobody", _("Nobody joined")


class Room(models.Model):
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=RoomKind.choices, default=RoomKind.BOOKING)
    booking = models.OneToOneField(
        Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="video_room"
    )
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    profile = models.ForeignKey(SpecialistProfile, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=64, unique=True, default=_room_name)
    provider = models.CharField(max_length=20, default="p2p")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Settlement (``settle.py``): once the room stops admitting, attendance is read once.
    settled_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="booking_room_has_booking",
                condition=~models.Q(kind="booking") | models.Q(booking__isnull=False),
            ),
            # One open ad-hoc call per pair on a brand (``actions.do_start_adhoc``).
            models.UniqueConstraint(
                fields=["brand", "patient", "profile"],
                condition=models.Q(kind="adhoc", closed_at__isnull=True),
                name="one_open_adhoc_room_per_pair",
            ),
        ]
        indexes = [
            models.Index(
                fields=["kind"],
                condition=models.Q(settled_at__isnull=True),
                name="room_unsettled",
            )
        ]

    def __str__(self) -> str:
        return f"room #{self.pk} ({self.kind})"


class Attendance(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="attendances")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=12, choices=Side.choices)
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "pk"]
        indexes = [models.Index(fields=["room", "side"], name="attendance_room_side")]

    def __str__(self) -> str:
        return f"{self.side} in room {self.room_id} from {self.joined_at:%Y-%m-%d %H:%M}"
