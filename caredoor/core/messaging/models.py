"""Conversations: threads bound to a care pair (or to an organization and one person),
their messages and system events, and each reader's read position.

A **care thread** belongs to one patient-specialist pair on one brand, whatever care
relationship rows the pair has had: history stays in one place, and posting is open while
the pair has an active relationship. A **staff thread** joins an organization (its
operator or clinic staff, any of them) with one patient or one specialist on a brand.

Message bodies are encrypted at rest (``compliance/crypto.py``); attachments are
``StoredFile`` rows, encrypted too. System events carry a kind and ids/states only, and
are rendered for each reader in their language, time zone and portal. A deleted message
keeps its row (who deleted it, when) and loses its body and attachment.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ThreadKind(models.TextChoices):
    CARE = "care", _("Patient and specialist")
    STAFF = "staff", _("Organization")


class Side(models.TextChoices):
    PATIENT = "patient", _("Patient")
    SPECIALIST = "specialist", _("Specialist")
    STAFF = "staff", _("Organization staff")
    SYSTEM = "system", _("System")


class MessageKind(models.TextChoices):
    TEXT = "text", _("Message")
    EVENT = "event", _("Event")


class Thread(models.Model):
    brand = models.ForeignKey("brands.Brand", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=ThreadKind.choices)
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patient_threads",
    )
    profile = models.ForeignKey(
        "specialists.SpecialistProfile",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="threads",
    )
    organization = models.ForeignKey(
        "organizations.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="threads",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-last_message_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="care",
                        patient__isnull=False,
                        profile__isnull=False,
                        organization__isnull=True,
                    )
                    | Q(
                        kind="staff",
                        organization__isnull=False,
                        patient__isnull=False,
                        profile__isnull=True,
                    )
                    | Q(
                        kind="staff",
                        organization__isnull=False,
                        patient__isnull=True,
                        profile__isnull=False,
                    )
                ),
                name="thread_parties_by_kind",
            ),
            models.UniqueConstraint(
                fields=["brand", "patient", "profile"],
                condition=Q(kind="care"),
                name="one_care_thread_per_pair",
            ),
            models.UniqueConstraint(
                fields=["brand", "organization", "patient"],
                condition=Q(kind="staff", patient__isnull=False),
                name="one_staff_thread_per_patient",
            ),
            models.UniqueConstraint(
                fields=["brand", "organization", "profile"],
                condition=Q(kind="staff", profile__isnull=False),
                name="one_staff_thread_per_specialist",
            ),
        ]

    def __str__(self) -> str:
        return f"thread #{self.pk} ({self.kind})"


class Message(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=MessageKind.choices, default=MessageKind.TEXT)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    side = models.CharField(max_length=12, choices=Side.choices)
    body_encrypted = models.TextField(blank=True)
    attachment = models.ForeignKey(
        "compliance.StoredFile",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # System events: what happened (``events.EVENT_KINDS``) and ids/states, never text.
    event = models.CharField(max_length=40, blank=True)
    event_data = models.JSONField(default=dict, blank=True)
    # The sender's own id for the message, so a retried post is not stored twice.
    client_token = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set by a retention purge: the body and attachment are gone, the line stays.
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["thread", "id"], name="message_thread_order")]
        constraints = [
            models.UniqueConstraint(
                fields=["thread", "sender", "client_token"],
                condition=~Q(client_token=""),
                name="one_message_per_client_token",
            )
        ]

    def __str__(self) -> str:
        return f"message #{self.pk} in thread {self.thread_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ThreadRead(models.Model):
    """How far one person has read a thread (the id of the last message they saw)."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_read_id = models.BigIntegerField(default=0)
    read_at = models.DateTimeField(default=timezone.now)
    # The newest message an email or SMS digest has already told this person about.
    notified_upto_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "user"], name="one_read_state_per_user")
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} read thread {self.thread_id} to {self.last_read_id}"
