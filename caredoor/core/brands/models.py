from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from caredoor.core.brands.choices import (
    CURRENCY_CHOICES,
    BillingModel,
    JourneyMode,
    Module,
    PricingMode,
    SignInMethod,
    Visibility,
)
from caredoor.core.brands.theme import HEX, contrast, readable_text_on

hex_colour = RegexValidator(HEX, _("Enter a colour as #rrggbb, for example #1d4ed8."))
HOSTNAME = (
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
hostname = RegexValidator(
    HOSTNAME, _("Enter a host name such as care.example.com (no scheme, port or path).")
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(zone)s is not a known IANA time zone."), params={"zone": value})


def _validate_subset(values: object, allowed: set[str], label: str) -> None:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValidationError(_("%(label)s must be a list of names."), params={"label": label})
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValidationError(
            _("Unknown %(label)s: %(names)s."), params={"label": label, "names": ", ".join(unknown)}
        )


def language_codes() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


class Network(models.Model):
    """A specialist network run by one operator; brands are its storefronts."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Brand(models.Model):
    network = models.ForeignKey(Network, on_delete=models.PROTECT, related_name="brands")
    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=120)
    tagline = models.CharField(_("tagline"), max_length=200, blank=True)
    logo = models.ImageField(_("logo"), upload_to="brand-logos/", blank=True)
    primary_color = models.CharField(_("primary colour"), max_length=7, validators=[hex_colour])
    accent_color = models.CharField(_("accent colour"), max_length=7, validators=[hex_colour])
    default_language = models.CharField(_("default language"), max_length=8, default="en")
    languages = models.JSONField(_("offered languages"), default=list)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    currency = models.CharField(
        _("currency"), max_length=3, choices=CURRENCY_CHOICES, default="EUR"
    )
    journey_mode = models.CharField(
        _("journey mode"), max_length=20, choices=JourneyMode.choices, default=JourneyMode.DIRECTORY
    )
    pricing_mode = models.CharField(
        _("pricing mode"),
        max_length=20,
        choices=PricingMode.choices,
        default=PricingMode.SPECIALIST_SET,
    )
    fixed_price_minor = models.PositiveIntegerField(
        _("fixed price (minor units)"),
        null=True,
        blank=True,
        help_text=_("Used when the pricing mode is one fixed price, in cents or the like."),
    )
    billing_model = models.CharField(
        _("billing model"),
        max_length=20,
        choices=BillingModel.choices,
        default=BillingModel.PLATFORM,
    )
    # Payments (core/payments, docs/payments.md).
    commission_percent = models.DecimalField(
        _("platform commission (percent of the price)"),
        max_digits=5,
        decimal_places=2,
        default=20,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    free_first_session = models.BooleanField(
        _("a patient's first session on the brand, with any specialist, is free"), default=False
    )
    checkout_hold_minutes = models.PositiveSmallIntegerField(
        _("a time is held for payment for (minutes)"),
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(120)],
    )
    modules = models.JSONField(_("enabled modules"), default=list)
    sign_in_methods = models.JSONField(_("sign-in methods"), default=list)
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Video sessions (core/video, docs/video.md).
    video_join_lead_minutes = models.PositiveSmallIntegerField(
        _("video room opens (minutes before the start)"),
        default=10,
        validators=[MaxValueValidator(120)],
    )
    video_join_grace_minutes = models.PositiveSmallIntegerField(
        _("video room stays open (minutes after the end)"),
        default=15,
        validators=[MaxValueValidator(240)],
    )
    video_fallback_seconds = models.PositiveSmallIntegerField(
        _("offer audio only and messages after reconnecting for (seconds)"),
        default=20,
        validators=[MinValueValidator(5), MaxValueValidator(300)],
    )
    video_adhoc_calls = models.BooleanField(
        _("specialists may start calls outside bookings"), default=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[ValidationError]] = {}

        def add(field: str, exc: ValidationError) -> None:
            errors.setdefault(field, []).append(exc)

        langs = language_codes()
        for field, values, allowed, label in (
            ("languages", self.languages, langs, _("languages")),
            ("modules", self.modules, set(Module.values), _("modules")),
            (
                "sign_in_methods",
                self.sign_in_methods,
                set(SignInMethod.values),
                _("sign-in methods"),
            ),
        ):
            try:
                _validate_subset(values, allowed, str(label))
            except ValidationError as exc:
                add(field, exc)
        if isinstance(self.languages, list) and not self.languages:
            add("languages", ValidationError(_("Offer at least one language.")))
        if self.default_language not in langs:
            add("default_language", ValidationError(_("Choose one of the supported languages.")))
        elif isinstance(self.languages, list) and self.default_language not in self.languages:
            add("default_language", ValidationError(_("The default language must be offered.")))
        if isinstance(self.sign_in_methods, list) and not self.sign_in_methods:
            add("sign_in_methods", ValidationError(_("Enable at least one sign-in method.")))
        if self.pricing_mode == PricingMode.BRAND_FIXED and self.fixed_price_minor is None:
            add("fixed_price_minor", ValidationError(_("A fixed-price brand needs its price.")))
        if HEX.match(self.primary_color or "") and HEX.match(self.accent_color or ""):
            for field in ("primary_color", "accent_color"):
                colour = getattr(self, field)
                if contrast(colour, readable_text_on(colour)) < 4.5:
                    add(field, ValidationError(_("Text on this colour would be hard to read.")))
        if errors:
            raise ValidationError(errors)

    def has_module(self, module: str) -> bool:
        return module in self.modules

    def allows_sign_in(self, method: str) -> bool:
        return method in self.sign_in_methods

    @property
    def is_private(self) -> bool:
        return self.visibility == Visibility.PRIVATE

    @property
    def primary_domain(self) -> Domain | None:
        return next((d for d in self.domains.all() if d.is_primary), None)


class Domain(models.Model):
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="domains")
    host = models.CharField(_("host"), max_length=253, unique=True, validators=[hostname])
    is_primary = models.BooleanField(_("primary"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "host"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand"], condition=models.Q(is_primary=True), name="one_primary_domain"
            )
        ]

    def __str__(self) -> str:
        return self.host

    def save(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.host = self.host.strip().lower()
        super().save(*args, **kwargs)
