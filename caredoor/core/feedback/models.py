"""Feedback after a completed session: a brand's questions and the patients' answers.

A brand chooses which short questions it asks (satisfaction, perceived progress, the
net promoter question, an optional comment) and how often (after every completed session,
or after the first and every Nth with the same specialist). A patient answers once per
completed booking, or skips, which is recorded so the question is not asked again. The free
comment may hold health data: it is encrypted, and every read of it is audited.

Aggregates are shown only for groups of at least ``min_group_size`` answers (see
``queries.summarize``), so nobody can read one patient's answers from a small group.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SCALE_MIN, SCALE_MAX = 1, 5
NPS_MIN, NPS_MAX = 0, 10
DEFAULT_MIN_GROUP = 5
LOWEST_MIN_GROUP = 3  # below this, aggregates would all but name the patient
DEFAULT_EVERY_NTH = 3


class Cadence(models.TextChoices):
    EVERY = "every", _("After every completed session")
    FIRST_AND_NTH = "first_and_nth", _("After the first session and then every Nth session")


class FeedbackSettings(models.Model):
    """A brand's feedback questions. A brand without a row uses the defaults
    (``queries.settings_for``): every question, a comment, after every session, groups of 5."""

    brand = models.OneToOneField(
        "brands.Brand", on_delete=models.CASCADE, related_name="feedback_settings"
    )
    ask_satisfaction = models.BooleanField(
        _("ask how satisfied the patient is (1-5)"), default=True
    )
    ask_progress = models.BooleanField(
        _("ask about perceived progress (1-5, compared with before)"), default=True
    )
    ask_nps = models.BooleanField(
        _("ask how likely the patient would recommend us (0-10)"), default=True
    )
    allow_comment = models.BooleanField(_("offer a free-text comment"), default=True)
    cadence = models.CharField(
        _("when to ask"), max_length=20, choices=Cadence.choices, default=Cadence.EVERY
    )
    every_nth = models.PositiveSmallIntegerField(
        _("every Nth session"),
        default=DEFAULT_EVERY_NTH,
        validators=[MinValueValidator(2), MaxValueValidator(50)],
        help_text=_("Used when asking after the first and every Nth session with a specialist."),
    )
    min_group_size = models.PositiveSmallIntegerField(
        _("minimum group size for results"),
        default=DEFAULT_MIN_GROUP,
        validators=[MinValueValidator(LOWEST_MIN_GROUP), MaxValueValidator(100)],
        help_text=_("Results are hidden until a group has at least this many answers."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("feedback settings")
        verbose_name_plural = _("feedback settings")

    def __str__(self) -> str:
        return f"feedback settings of brand {self.brand_id}"

    @property
    def asks_anything(self) -> bool:
        return self.ask_satisfaction or self.ask_progress or self.ask_nps or self.allow_comment

    def asks_after(self, ordinal: int) -> bool:
        """Whether the ``ordinal``-th completed session of a pair (1-based) is asked about."""
        if self.cadence == Cadence.EVERY:
            return True
        return ordinal == 1 or ordinal % self.every_nth == 0


class FeedbackResponse(models.Model):
    """One patient's answer (or skip) for one completed booking."""

    booking = models.OneToOneField(
        "booking.Booking", on_delete=models.PROTECT, related_name="feedback"
    )
    brand = models.ForeignKey("brands.Brand", on_delete=models.PROTECT, related_name="+")
    profile = models.ForeignKey(
        "specialists.SpecialistProfile", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    satisfaction = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(SCALE_MIN), MaxValueValidator(SCALE_MAX)],
    )
    progress = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(SCALE_MIN), MaxValueValidator(SCALE_MAX)],
    )
    nps = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(NPS_MIN), MaxValueValidator(NPS_MAX)],
    )
    comment_encrypted = models.TextField(blank=True)
    skipped = models.BooleanField(default=False)
    # The session's start, copied so aggregates by period need no join.
    session_start = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["profile", "brand", "session_start"]),
            models.Index(fields=["brand", "session_start"]),
        ]
        constraints = [
            models.CheckConstraint(
                name="feedback_scales_in_range",
                condition=(
                    (Q(satisfaction__isnull=True) | Q(satisfaction__gte=1, satisfaction__lte=5))
                    & (Q(progress__isnull=True) | Q(progress__gte=1, progress__lte=5))
                    & (Q(nps__isnull=True) | Q(nps__lte=10))
                ),
            ),
            models.CheckConstraint(
                name="feedback_skipped_has_no_answers",
                condition=Q(skipped=False)
                | Q(
                    satisfaction__isnull=True,
                    progress__isnull=True,
                    nps__isnull=True,
                    comment_encrypted="",
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"feedback #{self.pk}"

    @property
    def has_comment(self) -> bool:
        return bool(self.comment_encrypted)
