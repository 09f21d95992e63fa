"""Every change to care relationships and their private notes (atomic, audited)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from caredoor.core.brands.choices import JourneyMode
from caredoor.core.brands.models import Brand
from caredoor.core.care.models import CareNote, CareRelationship, EndReason, Source
from caredoor.core.care.queries import active_relationship
from caredoor.core.compliance import audit
from caredoor.core.compliance.crypto import decrypt_text, encrypt_text
from caredoor.core.specialists.models import SpecialistProfile

NOTE_MAX = 20_000

JOURNEY_SOURCE = {
    JourneyMode.DIRECTORY: Source.DIRECTORY,
    JourneyMode.MATCHING: Source.MATCHING,
    JourneyMode.ASSISTED: Source.ASSISTED,
}


def default_source(brand: Brand) -> str:
    """Where a relationship that starts with a booking came from: a private program's
    patients come through the program; elsewhere the brand's journey mode says."""
    if brand.is_private:
        return Source.PROGRAM
    return JOURNEY_SOURCE.get(brand.journey_mode, Source.DIRECTORY)


def do_allocate(
    *,
    brand: Brand,
    patient: Any,
    profile: SpecialistProfile | int,
    source: str,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> CareRelationship:
    """The pair's active relationship, created with ``source`` if there is none yet.

    Idempotent: an existing active relationship is returned unchanged (its first source
    stays). Safe under concurrency: the unique constraint on active pairs decides a race.
    """
    profile_id = profile if isinstance(profile, int) else profile.pk
    if source not in Source.values:
        raise ValueError(f"unknown source {source!r}")
    existing = active_relationship(brand, patient, profile_id)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            rel = CareRelationship.objects.create(
                brand=brand,
                patient=patient,
                profile_id=profile_id,
                source=source,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
            audit.record(
                "care.allocated",
                actor=actor,
                actor_label="" if actor else "system",
                target=rel,
                brand=brand,
                request=request,
                data={"profile": profile_id, "patient": patient.pk, "source": source},
            )
    except IntegrityError:
        found = active_relationship(brand, patient, profile_id)
        if found is None:
            raise
        return found
    return rel


def ensure_for_booking(*, brand: Brand, patient: Any, profile_id: int) -> CareRelationship:
    """Called for every booking inserted: the first booking of a pair starts its care."""
    return do_allocate(
        brand=brand, patient=patient, profile=profile_id, source=default_source(brand)
    )


def do_end(
    rel: CareRelationship,
    *,
    reason: str,
    actor: Any,
    request: HttpRequest | None = None,
) -> CareRelationship:
    if reason not in EndReason.values:
        raise ValueError(f"unknown end reason {reason!r}")
    with transaction.atomic():
        current = CareRelationship.objects.select_for_update().get(pk=rel.pk)
        if current.ended_at is not None:
            raise ValidationError(_("This care relationship has already ended."), code="ended")
        current.ended_at = timezone.now()
        current.end_reason = reason
        current.save(update_fields=["ended_at", "end_reason"])
        audit.record(
            "care.ended",
            actor=actor,
            target=current,
            brand=current.brand,
            request=request,
            data={"profile": current.profile_id, "reason": reason},
        )
    return current


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write the note first.")})
    if len(body) > NOTE_MAX:
        raise ValidationError(
            {"body": _("A note can hold at most %(max)d characters.") % {"max": NOTE_MAX}}
        )
    return body


def do_add_note(
    rel: CareRelationship, *, author: Any, body: str, request: HttpRequest | None = None
) -> CareNote:
    """A private note by the relationship's specialist (the caller checked who writes)."""
    body = _clean_body(body)
    with transaction.atomic():
        note = CareNote.objects.create(
            relationship=rel, author=author, body_encrypted=encrypt_text(body)
        )
        audit.record(
            "care.note_written",
            actor=author,
            role="specialist",
            target=note,
            brand=rel.brand,
            request=request,
            data={"relationship": rel.pk},
        )
    return note


def do_edit_note(
    note: CareNote, *, author: Any, body: str, request: HttpRequest | None = None
) -> CareNote:
    body = _clean_body(body)
    with transaction.atomic():
        note.body_encrypted = encrypt_text(body)
        note.updated_at = timezone.now()
        note.save(update_fields=["body_encrypted", "updated_at"])
        audit.record(
            "care.note_edited",
            actor=author,
            role="specialist",
            target=note,
            brand=note.relationship.brand,
            request=request,
            data={"relationship": note.relationship_id},
        )
    return note


def read_notes(
    rel: CareRelationship, *, reader: Any, request: HttpRequest | None = None
) -> list[tuple[CareNote, str]]:
    """The relationship's notes with their plain text; the read itself is audited."""
    notes = list(rel.notes.all())
    if notes:
        audit.record(
            "care.notes_read",
            actor=reader,
            role="specialist",
            target=rel,
            brand=rel.brand,
            request=request,
            data={"notes": [n.pk for n in notes]},
        )
    return [(n, decrypt_text(n.body_encrypted)) for n in notes]
