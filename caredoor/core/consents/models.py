"""Versioned consent documents, their published versions, and patients' signatures.

A ``ConsentDocument`` belongs to one network and applies either to one brand or to every
brand a client organization serves (an operator organization's documents apply to every
brand of its network). Its text lives in ``ConsentVersion`` rows numbered 1..n; a version
is published when it is created and never changes afterwards; the current version is the
highest number. A ``ConsentSignature`` records who signed which version on which brand,
when, from which address, and whether (and when) it was withdrawn. A signature of an older
version does not satisfy a document whose current version is newer (re-consent).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from caredoor.core.brands.choices import JourneyStage


class ConsentKind(models.TextChoices):
    TERMS = "terms", _("Terms of use")
    PRIVACY = "privacy", _("Privacy notice")
    TREATMENT = "treatment", _("Treatment agreement")
    TELEHEALTH = "telehealth", _("Telehealth consent")
    DATA_PROCESSING = "data_processing", _("Data processing consent")
    RECORDING = "recording", _("Recording consent")
    OTHER = "other", _("Other")


ON_REQUEST = ""  # a document's stage when only specialists who choose it ask for it


class ConsentDocument(models.Model):
    network = models.ForeignKey("brands.Network", on_delete=models.PROTECT, related_name="+")
    brand = models.ForeignKey(
        "brands.Brand",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consent_documents",
    )
    organization = models.ForeignKey(
        "organizations.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="consent_documents",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ConsentKind.choices)
    title = models.CharField(_("title"), max_length=160)
    # Blank: asked for only when a specialist requires it before their sessions.
    stage = models.CharField(
        _("required"),
        max_length=20,
        choices=JourneyStage.choices,
        default=JourneyStage.SIGNUP,
        blank=True,
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.CheckConstraint(
                name="consent_document_one_owner",
                condition=(
                    Q(brand__isnull=False, organization__isnull=True)
                    | Q(brand__isnull=True, organization__isnull=False)
                ),
            )
        ]

    def __str__(self) -> str:
        return self.title


class ConsentVersion(models.Model):
    """One published text of a document. Immutable once saved."""

    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    body = models.TextField(_("text"))
    summary = models.CharField(_("summary of changes"), max_length=500, blank=True)
    published_at = models.DateTimeField(_("published"), default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["document_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="one_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.document.title} v{self.number}"

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if self.pk is not None and not self._state.adding:
            raise ValueError("A published consent version cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise ValueError("A published consent version cannot be deleted.")


class ConsentSignature(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consent_signatures"
    )
    version = models.ForeignKey(ConsentVersion, on_delete=models.PROTECT, related_name="signatures")
    brand = models.ForeignKey("brands.Brand", on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(_("signed"), default=timezone.now)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawal_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-signed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "version", "brand"],
                condition=Q(withdrawn_at__isnull=True),
                name="one_valid_signature_per_version",
            )
        ]
        indexes = [models.Index(fields=["user", "brand", "withdrawn_at"])]

    def __str__(self) -> str:
        return f"signature #{self.pk}"

    @property
    def is_valid(self) -> bool:
        return self.withdrawn_at is None


class SpecialistConsentRequirement(models.Model):
    """A specialist requires a document before their sessions (stage ``session``)."""

    profile = models.ForeignKey(
        "specialists.SpecialistProfile",
        on_delete=models.CASCADE,
        related_name="consent_requirements",
    )
    document = models.ForeignKey(
        ConsentDocument, on_delete=models.CASCADE, related_name="specialist_requirements"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile", "document"], name="one_requirement")
        ]

    def __str__(self) -> str:
        return f"requirement #{self.pk}"
