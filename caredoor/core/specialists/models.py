from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from caredoor.core.brands.models import Brand, Network
from caredoor.core.organizations.models import Organization
from caredoor.core.specialists.choices import (
    DocumentKind,
    ListingStatus,
    PricingControl,
    ProfileStatus,
    Relationship,
    TermKind,
)


class Term(models.Model):
    """A network's controlled vocabulary: specializations and categories patients filter by."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="terms")
    kind = models.CharField(max_length=20, choices=TermKind.choices)
    slug = models.SlugField()
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["network", "kind", "slug"], name="unique_term_slug")
        ]

    def __str__(self) -> str:
        return self.name


class OnboardingScheme(models.Model):
    """Which steps and required fields onboarding has: per network, optionally per brand."""

    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="+")
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    steps = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["network"], condition=Q(brand__isnull=True), name="one_network_scheme"
            ),
            models.UniqueConstraint(
                fields=["network", "brand"],
                condition=Q(brand__isnull=False),
                name="one_brand_scheme",
            ),
        ]

    def __str__(self) -> str:
        return f"onboarding of {self.brand or self.network}"


class SpecialistProfile(models.Model):
    """The working copy of a specialist's profile; patients see only ``PublishedProfile``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="specialist_profiles"
    )
    network = models.ForeignKey(Network, on_delete=models.CASCADE, related_name="+")
    registered_on = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    onboarded_by = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    relationship = models.CharField(
        max_length=20, choices=Relationship.choices, default=Relationship.PARTNER
    )
    pricing_control = models.CharField(
        max_length=20, choices=PricingControl.choices, default=PricingControl.SPECIALIST
    )
    status = models.CharField(
        max_length=20, choices=ProfileStatus.choices, default=ProfileStatus.DRAFT, db_index=True
    )

    display_name = models.CharField(_("name shown to patients"), max_length=120, blank=True)
    professional_title = models.CharField(_("professional title"), max_length=120, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    practice_preferences = models.JSONField(default=dict, blank=True)
    languages = models.JSONField(default=list, blank=True)
    education = models.JSONField(default=list, blank=True)
    specializations = models.ManyToManyField(Term, blank=True, related_name="+")
    expertise = models.JSONField(default=list, blank=True)
    categories = models.ManyToManyField(Term, blank=True, related_name="+")
    bio = models.TextField(_("about you"), blank=True, max_length=4000)
    photo = models.ForeignKey(
        "compliance.StoredFile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    intro_video_url = models.URLField(_("intro video link"), blank=True)

    current_step = models.CharField(max_length=40, blank=True)
    # Fields a reviewer asked to change, with their note: {"bio": "Please add ..."}.
    requested_changes = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "network"], name="one_profile_per_network")
        ]

    def __str__(self) -> str:
        return self.display_name or self.user.email


class PublishedProfile(models.Model):
    """The approved version patients see; replaced only by the next approval."""

    profile = models.OneToOneField(
        SpecialistProfile, on_delete=models.CASCADE, related_name="published"
    )
    data = models.JSONField(default=dict)
    photo = models.ForeignKey(
        "compliance.StoredFile", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    specializations = models.ManyToManyField(Term, blank=True, related_name="+")
    categories = models.ManyToManyField(Term, blank=True, related_name="+")
    published_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.data.get("display_name", "")


class CredentialDocument(models.Model):
    profile = models.ForeignKey(
        SpecialistProfile, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    title = models.CharField(max_length=120)
    file = models.ForeignKey("compliance.StoredFile", on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return self.title


class ReviewDecision(models.Model):
    profile = models.ForeignKey(
        SpecialistProfile, on_delete=models.CASCADE, related_name="decisions"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewer_role = models.CharField(max_length=20)
    decision = models.CharField(max_length=20)
    reason = models.TextField(blank=True)
    fields = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.decision} {self.profile_id}"


class Listing(models.Model):
    """A specialist offered on one brand, with that brand's session offer and price."""

    profile = models.ForeignKey(
        SpecialistProfile, on_delete=models.CASCADE, related_name="listings"
    )
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="listings")
    status = models.CharField(
        max_length=20, choices=ListingStatus.choices, default=ListingStatus.REQUESTED, db_index=True
    )
    session_offer = models.CharField(_("session offer"), max_length=200, blank=True)
    price_minor = models.PositiveIntegerField(_("price (minor units)"), null=True, blank=True)
    # Payments: the brand's commission and billing model apply unless set here.
    commission_percent = models.DecimalField(
        _("commission override (percent)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    bills_via_connect = models.BooleanField(
        _("on a hybrid brand: charged to the specialist's Stripe account"), default=False
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile", "brand"], name="one_listing_per_brand")
        ]

    def __str__(self) -> str:
        return f"{self.profile} on {self.brand}"
