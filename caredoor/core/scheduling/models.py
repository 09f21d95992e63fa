"""Session types and availability, kept in the specialist's own time zone (wall-clock times)."""

from __future__ import annotations

from datetime import time

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from caredoor.core.brands.models import Brand
from caredoor.core.specialists.models import SpecialistProfile


class SessionType(models.Model):
    """What a patient can book: an intake, a follow-up... per specialist, optionally per brand."""

    profile = models.ForeignKey(
        SpecialistProfile, on_delete=models.CASCADE, related_name="session_types"
    )
    brand = models.ForeignKey(
        Brand,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: offered on every brand."),
    )
    name = models.CharField(_("name"), max_length=80)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    buffer_before_minutes = models.PositiveSmallIntegerField(
        _("buffer before (minutes)"), default=0, validators=[MaxValueValidator(240)]
    )
    buffer_after_minutes = models.PositiveSmallIntegerField(
        _("buffer after (minutes)"), default=0, validators=[MaxValueValidator(240)]
    )
    min_notice_minutes = models.PositiveIntegerField(
        _("minimum notice (minutes)"), default=12 * 60, validators=[MaxValueValidator(60 * 24 * 60)]
    )
    horizon_days = models.PositiveSmallIntegerField(
        _("booking horizon (days)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(730)],
    )
    slot_step_minutes = models.PositiveSmallIntegerField(
        _("start times every (minutes)"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
    )
    price_minor = models.PositiveIntegerField(
        _("price (minor units)"),
        null=True,
        blank=True,
        help_text=_("Only where the specialist sets prices; otherwise the listing's price."),
    )
    direct_booking = models.BooleanField(
        _("patients may book it directly"),
        default=True,
        help_text=_("Off: only by the specialist's invitation."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.duration_minutes} min)"


class AvailabilityRule(models.Model):
    """Weekly opening hours in the specialist's zone; the gaps between rules are breaks."""

    profile = models.ForeignKey(
        SpecialistProfile, on_delete=models.CASCADE, related_name="availability_rules"
    )
    session_type = models.ForeignKey(
        SessionType,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="rules",
        help_text=_("Empty: these hours are open to every session type."),
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), validators=[MaxValueValidator(6)], help_text=_("0 is Monday, 6 is Sunday.")
    )
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"), help_text=_("00:00 means midnight at the day's end."))

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                name="rule_ends_after_it_starts",
                condition=Q(end_time__gt=models.F("start_time")) | Q(end_time=time(0)),
            )
        ]

    def __str__(self) -> str:
        return f"{self.weekday} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class DateOverride(models.Model):
    """One local date with its own hours: a holiday (no windows) or different/extra hours."""

    profile = models.ForeignKey(
        SpecialistProfile, on_delete=models.CASCADE, related_name="date_overrides"
    )
    day = models.DateField(_("date"))
    windows = models.JSONField(
        _("hours"),
        default=list,
        blank=True,
        help_text=_('Local times, e.g. [["09:00", "12:00"]]. Empty: day off.'),
    )
    note = models.CharField(_("note"), max_length=120, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "day"], name="one_override_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.windows or 'off'}"

    def clean(self) -> None:
        try:
            spans = [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in self.windows]
        except (TypeError, ValueError):
            raise ValidationError(
                {"windows": _("Give hours as pairs like 09:00 to 12:00.")}
            ) from None
        spans.sort()
        if not spans:
            return  # a day off
        for (a, b), nxt in zip(spans, [*spans[1:], None], strict=True):
            if not (b > a or b == time(0)):
                raise ValidationError({"windows": _("Each period must end after it starts.")})
            if nxt is not None and nxt[0] < b:
                raise ValidationError({"windows": _("The periods overlap.")})
