"""Care relationships (allocations): a patient and a specialist on one brand.

A relationship starts at the first booking or at an allocation (guided matching, assisted
scheduling, a program, a referral) and carries its source and date. Messaging, video,
notes and follow-up booking hang off it. Ending one (a switch of specialist, or the end of
care) keeps the row for history; a new relationship of the same pair is a new row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    DIRECTORY = "directory", _("Directory")
    MATCHING = "matching", _("Guided matching")
    ASSISTED = "assisted", _("Assisted scheduling")
    PROGRAM = "program", _("Program")
    REFERRAL = "referral", _("Referral")


class EndReason(models.TextChoices):
    SWITCHED = "switched", _("The patient switched specialist")
    ENDED = "ended", _("Care ended")


class CareRelationship(models.Model):
    brand = models.ForeignKey("brands.Brand", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="care_relationships"
    )
    profile = models.ForeignKey(
        "specialists.SpecialistProfile", on_delete=models.PROTECT, related_name="relationships"
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    created_at = models.DateTimeField(_("since"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "patient", "profile"],
                condition=Q(ended_at__isnull=True),
                name="one_active_relationship_per_pair",
            )
        ]
        indexes = [
            models.Index(fields=["profile", "brand", "ended_at"]),
            models.Index(fields=["patient", "brand", "ended_at"]),
        ]

    def __str__(self) -> str:
        return f"care #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class CareNote(models.Model):
    """A specialist's private note on a relationship: encrypted, every read audited."""

    relationship = models.ForeignKey(
        CareRelationship, on_delete=models.CASCADE, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body_encrypted = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"note #{self.pk}"
