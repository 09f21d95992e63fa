"""Every change to feedback: a patient's answer or skip, a brand's settings; comment reads.

Audit events carry ids only: never the scores or the comment (perceived progress and free
text can be health data).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from caredoor.core.booking.models import Booking, BookingStatus
from caredoor.core.brands.models import Brand
from caredoor.core.compliance import audit
from caredoor.core.compliance.crypto import decrypt_text, encrypt_text
from caredoor.core.feedback.models import FeedbackResponse, FeedbackSettings
from caredoor.core.feedback.queries import is_on, settings_for

COMMENT_MAX = 2000
QUESTIONS = {"satisfaction": "ask_satisfaction", "progress": "ask_progress", "nps": "ask_nps"}
SETTINGS_FIELDS = (
    "ask_satisfaction",
    "ask_progress",
    "ask_nps",
    "allow_comment",
    "cadence",
    "every_nth",
    "min_group_size",
)


class AlreadyAnswered(ValidationError):
    """Feedback for this booking was given (or skipped) before; nothing changed."""

    def __init__(self) -> None:
        super().__init__(
            _("You already gave feedback on this session. Nothing was changed."),
            code="already_answered",
        )


def _check_booking(booking: Booking, patient: Any) -> None:
    if booking.patient_id != getattr(patient, "pk", None):
        raise ValidationError(
            _("Only the patient of this session can give feedback on it."), code="not_allowed"
        )
    if booking.status != BookingStatus.COMPLETED:
        raise ValidationError(
            _("Feedback can be given once the session is completed."), code="not_completed"
        )
    if not is_on(booking.brand):
        raise ValidationError(_("This site does not ask for feedback."), code="off")


def _save(booking: Booking, patient: Any, request: HttpRequest | None, **values: Any) -> Any:
    try:
        with transaction.atomic():
            # Lock the booking so two submits of one form are decided one after the other.
            locked = Booking.objects.select_for_update().get(pk=booking.pk)
            _check_booking(locked, patient)
            if FeedbackResponse.objects.filter(booking=locked).exists():
                raise AlreadyAnswered()
            response = FeedbackResponse(
                booking=locked,
                brand_id=locked.brand_id,
                profile_id=locked.profile_id,
                patient=patient,
                session_start=locked.start,
                **values,
            )
            response.full_clean(exclude=["booking", "brand", "profile", "patient"])
            response.save(force_insert=True)
            audit.record(
                "feedback.skipped" if response.skipped else "feedback.given",
                actor=patient,
                role="patient",
                target=response,
                brand=locked.brand,
                request=request,
                data={"booking": locked.pk, "profile": locked.profile_id},
            )
    except IntegrityError:
        # A concurrent submit won the one-to-one on the booking.
        if FeedbackResponse.objects.filter(booking_id=booking.pk).exists():
            raise AlreadyAnswered() from None
        raise
    return response


def do_give_feedback(
    booking: Booking,
    *,
    patient: Any,
    satisfaction: int | None = None,
    progress: int | None = None,
    nps: int | None = None,
    comment: str = "",
    request: HttpRequest | None = None,
) -> FeedbackResponse:
    """Record the patient's answers on a completed session (all optional, at least one).

    Raises ``AlreadyAnswered`` when feedback (or a skip) exists, ``ValidationError`` when
    the session is not the patient's or not completed, or an answer is out of range, not
    asked on this brand, or missing altogether. Nothing is written then.
    """
    config = settings_for(booking.brand)
    values = {"satisfaction": satisfaction, "progress": progress, "nps": nps}
    errors = {}
    for name, value in values.items():
        if value is not None and not getattr(config, QUESTIONS[name]):
            errors[name] = _("This question is not asked here.")
    comment = (comment or "").strip()
    if comment and not config.allow_comment:
        errors["comment"] = _("Comments are not asked for here.")
    if len(comment) > COMMENT_MAX:
        errors["comment"] = _("A comment can hold at most %(max)d characters.") % {
            "max": COMMENT_MAX
        }
    if errors:
        raise ValidationError(errors)
    if all(v is None for v in values.values()) and not comment:
        raise ValidationError(_("Answer at least one question, or choose Skip."), code="empty")
    return _save(
        booking,
        patient,
        request,
        **values,
        comment_encrypted=encrypt_text(comment) if comment else "",
        skipped=False,
    )


def do_skip_feedback(
    booking: Booking, *, patient: Any, request: HttpRequest | None = None
) -> FeedbackResponse:
    """Record that the patient chose not to answer, so the session is not asked about again."""
    return _save(booking, patient, request, skipped=True)


def do_save_feedback_settings(
    brand: Brand,
    values: dict[str, Any],
    *,
    actor: Any,
    role: str = "",
    request: HttpRequest | None = None,
) -> FeedbackSettings:
    """Create or update the brand's feedback settings (``values``: any of SETTINGS_FIELDS)."""
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"unknown feedback settings: {sorted(unknown)}")
    with transaction.atomic():
        row = FeedbackSettings.objects.select_for_update().filter(brand=brand).first()
        row = row or FeedbackSettings(brand=brand)
        before = {k: getattr(row, k) for k in SETTINGS_FIELDS}
        for key, value in values.items():
            setattr(row, key, value)
        row.full_clean(exclude=["brand"])
        row.save()
        after = {k: getattr(row, k) for k in SETTINGS_FIELDS}
        changed = {k: [before[k], after[k]] for k in SETTINGS_FIELDS if before[k] != after[k]}
        audit.record(
            "feedback.settings_saved",
            actor=actor,
            role=role,
            target=row,
            brand=brand,
            request=request,
            data={"changed": changed},
        )
    return row


def read_comments(
    responses: Any, *, reader: Any, role: str, brand: Brand, request: HttpRequest | None = None
) -> list[tuple[FeedbackResponse, str]]:
    """The responses' comments in plain text; the read is audited (ids only)."""
    responses = list(responses)
    if responses:
        audit.record(
            "feedback.comments_read",
            actor=reader,
            role=role,
            brand=brand,
            request=request,
            data={"responses": [r.pk for r in responses]},
        )
    return [(r, decrypt_text(r.comment_encrypted)) for r in responses]
