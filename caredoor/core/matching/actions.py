"""Every change of guided matching and assisted scheduling: atomic, validated, audited
(ids only: the answers, needs and notes are health data and never reach the audit trail or
a notification)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from caredoor.core.accounts.policy import Portal
from caredoor.core.brands.models import Brand
from caredoor.core.care.actions import do_allocate, do_end
from caredoor.core.care.models import CareRelationship, EndReason, Source
from caredoor.core.compliance import audit
from caredoor.core.compliance.crypto import decrypt_text, encrypt_text
from caredoor.core.matching import queries, ranking
from caredoor.core.matching.models import (
    AssistanceRequest,
    AssistanceStatus,
    DayPart,
    MatchingSettings,
    MatchRequest,
    Soon,
    SwitchReason,
)
from caredoor.core.notifications.actions import notify
from caredoor.core.specialists.choices import SPOKEN_LANGUAGES, SessionFormat

NEEDS_MAX = 2000
NOTE_MAX = 500
SETTINGS_FIELDS = (
    "shortlist_size",
    "direct_allocation",
    "weight_fit",
    "weight_soon",
    "weight_capacity",
    "soon_days",
    "max_active_patients",
)
HORIZON = {Soon.WEEK: 7, Soon.TWO_WEEKS: 14}


# --- settings -----------------------------------------------------------------------------


def do_save_settings(
    brand: Brand,
    values: dict[str, Any],
    *,
    actor: Any,
    role: str = "",
    request: HttpRequest | None = None,
) -> MatchingSettings:
    with transaction.atomic():
        row = MatchingSettings.objects.select_for_update().filter(brand=brand).first()
        row = row or MatchingSettings(brand=brand)
        changed = [f for f in SETTINGS_FIELDS if f in values and getattr(row, f) != values[f]]
        for f in SETTINGS_FIELDS:
            if f in values:
                setattr(row, f, values[f])
        row.updated_at = timezone.now()
        row.full_clean()
        if row.weight_fit + row.weight_soon + row.weight_capacity == 0:
            raise ValidationError(
                {"weight_fit": _("Give at least one of the rules a weight above zero.")}
            )
        row.save()
        audit.record(
            "matching.settings_saved",
            actor=actor,
            role=role,
            target=row,
            brand=brand,
            request=request,
            data={f: getattr(row, f) for f in changed},
        )
    return row


# --- the questionnaire ----------------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    """What the patient answered (health data: kept encrypted)."""

    languages: tuple[str, ...] = ()
    specializations: tuple[int, ...] = ()
    format: str = ""
    soon: str = Soon.FLEXIBLE
    day_parts: tuple[str, ...] = ()

    def as_json(self) -> str:
        return json.dumps(
            {
                "languages": list(self.languages),
                "specializations": list(self.specializations),
                "format": self.format,
                "soon": self.soon,
                "day_parts": list(self.day_parts),
            }
        )

    @classmethod
    def from_json(cls, raw: str) -> Answers:
        data = json.loads(raw or "{}")
        return cls(
            languages=tuple(data.get("languages") or ()),
            specializations=tuple(int(t) for t in data.get("specializations") or ()),
            format=data.get("format") or "",
            soon=data.get("soon") or Soon.FLEXIBLE,
            day_parts=tuple(data.get("day_parts") or ()),
        )


def clean_answers(brand: Brand, answers: Answers) -> Answers:
    errors: dict[str, str] = {}
    if any(code not in SPOKEN_LANGUAGES for code in answers.languages):
        errors["languages"] = _("Choose languages from the list.")
    known = set(queries.specialization_choices(brand).values_list("pk", flat=True))
    if any(t not in known for t in answers.specializations):
        errors["specializations"] = _("Choose topics from the list.")
    if answers.format and answers.format not in SessionFormat.values:
        errors["format"] = _("Choose a format from the list.")
    if answers.soon not in Soon.values:
        errors["soon"] = _("Choose how soon from the list.")
    if any(p not in DayPart.values for p in answers.day_parts):
        errors["day_parts"] = _("Choose times of day from the list.")
    if errors:
        raise ValidationError(errors)
    return Answers(
        languages=tuple(sorted(set(answers.languages))),
        specializations=tuple(sorted(set(answers.specializations))),
        format=answers.format,
        soon=answers.soon,
        day_parts=tuple(p for p in DayPart.values if p in answers.day_parts),
    )


def horizon_days(answers: Answers, settings: MatchingSettings) -> int:
    return HORIZON.get(answers.soon, settings.soon_days)  # type: ignore[call-overload]


def wish_of(answers: Answers, settings: MatchingSettings) -> ranking.Wish:
    return ranking.Wish(
        languages=frozenset(answers.languages),
        specializations=frozenset(answers.specializations),
        format=answers.format,
        horizon_days=horizon_days(answers, settings),
    )


def rank_for(
    brand: Brand,
    answers: Answers,
    *,
    now: datetime,
    exclude: tuple[int, ...] = (),
    limit: int | None = None,
    direct_only: bool = True,
) -> list[ranking.Ranked]:
    """The brand's listed specialists ranked for ``answers`` (no writes)."""
    settings = queries.settings_for(brand)
    wish = wish_of(answers, settings)
    found = queries.candidates(brand, now=now, days=wish.horizon_days, direct_only=direct_only)
    return ranking.rank(
        found, wish, queries.rules_of(settings), now=now, exclude=exclude, limit=limit
    )


def do_run_match(
    *,
    user: Any,
    brand: Brand,
    answers: Answers,
    exclude_profile: int | None = None,
    switch_reason: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> MatchRequest:
    """Rank the brand's specialists for the patient's answers and keep the shortlist; with
    direct allocation on the brand, the best match is allocated at once."""
    now = now or timezone.now()
    answers = clean_answers(brand, answers)
    if switch_reason and switch_reason not in SwitchReason.values:
        raise ValidationError({"reason": _("Choose a reason from the list.")})
    settings = queries.settings_for(brand)
    ranked = rank_for(
        brand,
        answers,
        now=now,
        exclude=(exclude_profile,) if exclude_profile else (),
        limit=settings.shortlist_size,
    )
    with transaction.atomic():
        match = MatchRequest.objects.create(
            user=user,
            brand=brand,
            answers_encrypted=encrypt_text(answers.as_json()),
            shortlist=[{"profile": r.profile_id, "score": r.score} for r in ranked],
            reasons_encrypted=encrypt_text(
                json.dumps({str(r.profile_id): [x.as_dict() for x in r.reasons] for r in ranked})
            ),
            excluded_profile_id=exclude_profile,
            switch_reason=switch_reason,
            created_at=now,
        )
        audit.record(
            "matching.ran",
            actor=user,
            role="patient",
            target=match,
            brand=brand,
            request=request,
            data={
                "shortlist": match.profile_ids,
                "excluded": exclude_profile,
                "switch_reason": switch_reason,
            },
        )
        if settings.direct_allocation and ranked:
            _choose(match, ranked[0].profile_id, actor=user, request=request)
    return match


def _choose(
    match: MatchRequest, profile_id: int, *, actor: Any, request: HttpRequest | None
) -> CareRelationship:
    rel = do_allocate(
        brand=match.brand,
        patient=match.user,
        profile=profile_id,
        source=Source.MATCHING,
        actor=actor,
        request=request,
    )
    match.chosen_profile_id = profile_id
    match.relationship = rel
    match.chosen_at = timezone.now()
    match.save(update_fields=["chosen_profile", "relationship", "chosen_at"])
    audit.record(
        "matching.chosen",
        actor=actor,
        role="patient",
        target=match,
        brand=match.brand,
        request=request,
        data={"profile": profile_id, "relationship": rel.pk},
    )
    return rel


def do_choose(
    match: MatchRequest, profile_id: int, *, actor: Any, request: HttpRequest | None = None
) -> CareRelationship:
    """The patient chooses one specialist of their shortlist (still listed here): the
    care relationship starts (source "matching"). Choosing again from the same shortlist
    is refused; a new questionnaire gives a new shortlist."""
    with transaction.atomic():
        current = MatchRequest.objects.select_for_update().get(pk=match.pk)
        if current.chosen_profile_id == profile_id and current.relationship_id:
            return current.relationship  # type: ignore[return-value]
        if current.chosen_profile_id is not None:
            raise ValidationError(
                _("You already chose a specialist from this list."), code="already_chosen"
            )
        if profile_id not in current.profile_ids:
            raise ValidationError(_("Choose a specialist from your list."), code="not_listed")
        if profile_id not in queries.listed_profiles(current.brand, [profile_id]):
            raise ValidationError(
                _("This specialist is no longer available here. Please start again."),
                code="not_listed",
            )
        return _choose(current, profile_id, actor=actor, request=request)


def do_switch(
    rel: CareRelationship,
    *,
    patient: Any,
    answers: Answers,
    reason: str,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> MatchRequest:
    """The patient leaves ``rel``'s specialist: the relationship ends ("switched") and
    matching runs again without that specialist. Booked sessions with them stay (the
    patient cancels them under the usual rules if they wish)."""
    if rel.patient_id != patient.pk or rel.ended_at is not None:
        raise ValidationError(_("This care relationship has already ended."), code="ended")
    if reason not in SwitchReason.values:
        raise ValidationError({"reason": _("Choose a reason from the list.")})
    answers = clean_answers(rel.brand, answers)
    with transaction.atomic():
        do_end(rel, reason=EndReason.SWITCHED, actor=patient, request=request)
        return do_run_match(
            user=patient,
            brand=rel.brand,
            answers=answers,
            exclude_profile=rel.profile_id,
            switch_reason=reason,
            request=request,
            now=now,
        )


@dataclass(frozen=True)
class MatchRead:
    answers: Answers
    reasons: dict[int, list[dict[str, str]]]


def read_match(
    match: MatchRequest, *, reader: Any, role: str, request: HttpRequest | None = None
) -> MatchRead:
    """The answers and the reasons in plain text; the read is audited."""
    audit.record(
        "matching.read",
        actor=reader,
        role=role,
        target=match,
        brand=match.brand,
        request=request,
        data={"match": match.pk},
    )
    reasons = json.loads(decrypt_text(match.reasons_encrypted)) if match.reasons_encrypted else {}
    return MatchRead(
        answers=Answers.from_json(decrypt_text(match.answers_encrypted)),
        reasons={int(k): v for k, v in reasons.items()},
    )


# --- assisted scheduling -----------------------------------------------------------------------


def do_request_assistance(
    *,
    user: Any,
    brand: Brand,
    needs: str,
    weekdays: list[int],
    day_parts: list[str],
    note: str = "",
    language: str,
    request: HttpRequest | None = None,
) -> AssistanceRequest:
    """The patient asks the team to find a specialist and a time. One request at a time:
    while one is waiting for the team, a second is refused."""
    needs, note = (needs or "").strip(), (note or "").strip()
    errors: dict[str, str] = {}
    if not needs:
        errors["needs"] = _("Tell us briefly what you would like help with.")
    elif len(needs) > NEEDS_MAX:
        errors["needs"] = _("Please keep it under %(max)d characters.") % {"max": NEEDS_MAX}
    if len(note) > NOTE_MAX:
        errors["note"] = _("Please keep it under %(max)d characters.") % {"max": NOTE_MAX}
    if any(d not in range(7) for d in weekdays):
        errors["weekdays"] = _("Choose days from the list.")
    if any(p not in DayPart.values for p in day_parts):
        errors["day_parts"] = _("Choose times of day from the list.")
    if language not in SPOKEN_LANGUAGES:
        errors["language"] = _("Choose a language from the list.")
    if errors:
        raise ValidationError(errors)
    waiting = ValidationError(
        _("Your earlier request is still waiting for the team."), code="open_exists"
    )
    with transaction.atomic():
        if AssistanceRequest.objects.filter(
            user=user, brand=brand, status=AssistanceStatus.OPEN
        ).exists():
            raise waiting
        try:
            with transaction.atomic():
                req = AssistanceRequest.objects.create(
                    user=user,
                    brand=brand,
                    needs_encrypted=encrypt_text(needs),
                    note_encrypted=encrypt_text(note) if note else "",
                    weekdays=sorted(set(weekdays)),
                    day_parts=[p for p in DayPart.values if p in day_parts],
                    language=language,
                )
        except IntegrityError:  # a concurrent submit won (one_open_assistance_request)
            raise waiting from None
        audit.record(
            "matching.assistance_requested",
            actor=user,
            role="patient",
            target=req,
            brand=brand,
            request=request,
            data={"request": req.pk},
        )
    return req


@dataclass(frozen=True)
class AssistanceRead:
    needs: str
    note: str


def read_assistance(
    req: AssistanceRequest, *, reader: Any, role: str, request: HttpRequest | None = None
) -> AssistanceRead:
    """The needs and the note in plain text; the read is audited (staff read them to do
    their job; every read leaves a trace)."""
    audit.record(
        "matching.assistance_read",
        actor=reader,
        role=role,
        target=req,
        brand=req.brand,
        request=request,
        data={"request": req.pk},
    )
    return AssistanceRead(
        needs=decrypt_text(req.needs_encrypted),
        note=decrypt_text(req.note_encrypted) if req.note_encrypted else "",
    )


def do_allocate_assistance(
    req: AssistanceRequest,
    *,
    profile_id: int,
    actor: Any,
    role: str,
    request: HttpRequest | None = None,
) -> AssistanceRequest:
    """Staff allocate a specialist listed on the request's brand: the care relationship
    starts (source "assisted") and the specialist is told to propose times."""
    with transaction.atomic():
        current = AssistanceRequest.objects.select_for_update().get(pk=req.pk)
        if current.status != AssistanceStatus.OPEN:
            raise ValidationError(
                _("This request is no longer waiting for a specialist."), code="not_open"
            )
        if profile_id not in queries.listed_profiles(current.brand, [profile_id]):
            raise ValidationError(
                {"profile": _("Choose a specialist listed on this brand.")}, code="not_listed"
            )
        rel = do_allocate(
            brand=current.brand,
            patient=current.user,
            profile=profile_id,
            source=Source.ASSISTED,
            actor=actor,
            request=request,
        )
        current.status = AssistanceStatus.ALLOCATED
        current.profile_id = profile_id
        current.relationship = rel
        current.allocated_by = actor
        current.allocated_at = timezone.now()
        current.save(
            update_fields=["status", "profile", "relationship", "allocated_by", "allocated_at"]
        )
        audit.record(
            "matching.assistance_allocated",
            actor=actor,
            role=role,
            target=current,
            brand=current.brand,
            request=request,
            data={"request": current.pk, "profile": profile_id, "relationship": rel.pk},
        )
        pk = current.pk
        transaction.on_commit(lambda: notify_allocation(pk))
    return current


def do_close_assistance(
    req: AssistanceRequest, *, actor: Any, role: str, request: HttpRequest | None = None
) -> AssistanceRequest:
    """Close a request: the patient withdraws one still waiting for the team; staff close
    one that needs nothing more (an allocated request keeps its care relationship)."""
    with transaction.atomic():
        current = AssistanceRequest.objects.select_for_update().get(pk=req.pk)
        allowed = (
            {AssistanceStatus.OPEN}
            if role == "patient"
            else {AssistanceStatus.OPEN, AssistanceStatus.ALLOCATED}
        )
        if current.status not in allowed:
            raise ValidationError(_("This request cannot be closed now."), code="not_closable")
        current.status = AssistanceStatus.CLOSED
        current.closed_at = timezone.now()
        current.save(update_fields=["status", "closed_at"])
        audit.record(
            "matching.assistance_closed",
            actor=actor,
            role=role,
            target=current,
            brand=current.brand,
            request=request,
            data={"request": current.pk},
        )
    return current


def _path(name: str, default: str, **query: str) -> str:
    try:
        path = reverse(name)
    except NoReverseMatch:
        path = default
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def notify_allocation(request_id: int) -> None:
    """After the allocation commits: the specialist learns they have a new patient to
    propose times to, the patient that a specialist was found. No needs text is sent."""
    req = (
        AssistanceRequest.objects.select_related("brand", "user", "profile__user")
        .filter(pk=request_id, status=AssistanceStatus.ALLOCATED)
        .first()
    )
    if req is None or req.profile is None:
        return
    specialist = req.profile.user
    name = req.profile.display_name or _("your specialist")
    notify(
        specialist,
        req.brand,
        kind="matching.allocated",
        portal=Portal.SPECIALIST,
        template="matching/email/allocated_specialist",
        context={"patient": req.user.display_name, "request": req},
        url=_path(
            "specialist:propose",
            "/specialist/bookings/propose/",
            patient=f"{req.brand_id}:{req.user_id}",
        ),
        time_zone=req.profile.time_zone,
        key=f"matching.allocated:{req.pk}:specialist",
    )
    notify(
        req.user,
        req.brand,
        kind="matching.allocated",
        portal=Portal.PATIENT,
        template="matching/email/allocated_patient",
        context={"specialist": name, "request": req},
        url=_path("patient:assisted", "/assisted/"),
        key=f"matching.allocated:{req.pk}:patient",
    )
