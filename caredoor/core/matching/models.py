"""Guided matching and assisted scheduling.

``MatchingSettings``: a brand's matching rules (shortlist size, direct allocation, the
weights of the ranking rules, the "soon" horizon, the capacity of a specialist); a brand
without a row uses the defaults (``queries.settings_for``).

``MatchRequest``: one run of the questionnaire by a patient. The answers say what the
patient wants help with (health data), so they are stored encrypted; the ranked shortlist
keeps profile ids and scores in clear and its reasons (which name the patient's topics)
encrypted too. The chosen specialist and the relationship it started are kept.

``AssistanceRequest``: a patient asks the team to find a specialist and a time. Needs and
the free note are encrypted; weekdays and parts of day are structured. The status moves
open -> allocated (staff chose a specialist) -> proposed (the specialist proposed a time)
-> booked (the patient accepted a time), or closed. "proposed" and "booked" are derived
from the pair's bookings (``queries.assistance_status``), so booking code needs no hook.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MatchingSettings(models.Model):
    brand = models.OneToOneField(
        "brands.Brand", on_delete=models.CASCADE, related_name="matching_settings"
    )
    shortlist_size = models.PositiveSmallIntegerField(
        _("shortlist size"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text=_("How many specialists a patient is shown (1 to 10)."),
    )
    direct_allocation = models.BooleanField(
        _("allocate the best match directly"),
        default=False,
        help_text=_("The patient gets the best match at once instead of choosing from a list."),
    )
    weight_fit = models.PositiveSmallIntegerField(
        _("weight: specialization fit"),
        default=50,
        validators=[MaxValueValidator(100)],
    )
    weight_soon = models.PositiveSmallIntegerField(
        _("weight: availability soon"),
        default=30,
        validators=[MaxValueValidator(100)],
    )
    weight_capacity = models.PositiveSmallIntegerField(
        _("weight: room for new patients"),
        default=20,
        validators=[MaxValueValidator(100)],
    )
    soon_days = models.PositiveSmallIntegerField(
        _("'soon' means within (days)"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("Used when the patient is flexible; 'this week' is 7 days, 'two weeks' 14."),
    )
    max_active_patients = models.PositiveSmallIntegerField(
        _("capacity: active patients per specialist"),
        default=25,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text=_("A specialist with this many active care relationships has no room."),
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("matching settings")
        verbose_name_plural = _("matching settings")

    def __str__(self) -> str:
        return f"matching settings #{self.pk}"


class Soon(models.TextChoices):
    WEEK = "week", _("This week")
    TWO_WEEKS = "two_weeks", _("Within two weeks")
    FLEXIBLE = "flexible", _("I'm flexible")


class DayPart(models.TextChoices):
    MORNING = "morning", _("Mornings (before 12:00)")
    AFTERNOON = "afternoon", _("Afternoons (12:00 to 17:00)")
    EVENING = "evening", _("Evenings (after 17:00)")


class SwitchReason(models.TextChoices):
    FIT = "fit", _("It did not feel like a good fit")
    AVAILABILITY = "availability", _("Their times do not suit me")
    LANGUAGE = "language", _("I would prefer another language")
    OTHER = "other", _("Another reason")


class MatchRequest(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="match_requests"
    )
    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="+")
    answers_encrypted = models.TextField()
    # [{"profile": id, "score": 0..100}, ...] best first (no health data).
    shortlist = models.JSONField(default=list, blank=True)
    # {profile id: [reason, ...]}: encrypted, since reasons name the patient's topics.
    reasons_encrypted = models.TextField(blank=True)
    excluded_profile = models.ForeignKey(
        "specialists.SpecialistProfile",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    switch_reason = models.CharField(max_length=20, choices=SwitchReason.choices, blank=True)
    chosen_profile = models.ForeignKey(
        "specialists.SpecialistProfile",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    relationship = models.ForeignKey(
        "care.CareRelationship", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    chosen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "brand", "created_at"])]

    def __str__(self) -> str:
        return f"match #{self.pk}"

    @property
    def profile_ids(self) -> list[int]:
        return [int(row["profile"]) for row in self.shortlist]


class AssistanceStatus(models.TextChoices):
    OPEN = "open", _("Waiting for the team")
    ALLOCATED = "allocated", _("Specialist found, waiting for a time")
    PROPOSED = "proposed", _("A time was proposed")
    BOOKED = "booked", _("Booked")
    CLOSED = "closed", _("Closed")


class AssistanceRequest(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assistance_requests"
    )
    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="+")
    needs_encrypted = models.TextField()
    weekdays = models.JSONField(default=list, blank=True)  # 0 = Monday
    day_parts = models.JSONField(default=list, blank=True)  # DayPart values
    note_encrypted = models.TextField(blank=True)
    language = models.CharField(_("language"), max_length=8)
    # Stored: open, allocated or closed; proposed/booked are derived from bookings.
    status = models.CharField(
        max_length=20, choices=AssistanceStatus.choices, default=AssistanceStatus.OPEN
    )
    profile = models.ForeignKey(
        "specialists.SpecialistProfile",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    relationship = models.ForeignKey(
        "care.CareRelationship", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    allocated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["brand", "status", "created_at"])]
        constraints = [
            # One request waiting for the team per patient and brand, also under races.
            models.UniqueConstraint(
                fields=["user", "brand"],
                condition=models.Q(status="open"),
                name="one_open_assistance_request",
            )
        ]

    def __str__(self) -> str:
        return f"assistance request #{self.pk}"
