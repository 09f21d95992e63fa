"""The specialist's patients: their care relationships across the network's brands, one
patient's record (sessions, requests, consents) and the specialist's private notes.

Relationships are fetched only through ``core.care.queries`` (the acting profile's own;
anyone else's is 404, for reading and for every POST alike). Notes are read through
``core.care.actions.read_notes``, which audits the read, and written by ``do_add_note`` /
``do_edit_note``. Notes are shown on these pages only: never to the patient or to an
organization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking import access
from caredoor.core.booking.care_facts import relationship_rows, with_facts
from caredoor.core.booking.models import RequestStatus
from caredoor.core.brands.models import Brand
from caredoor.core.care.actions import NOTE_MAX, do_add_note, do_edit_note, read_notes
from caredoor.core.care.models import CareRelationship
from caredoor.core.care.queries import (
    access_own_note,
    access_specialist_relationship,
    relationship_brands,
    specialist_relationships,
)
from caredoor.core.consents.queries import consent_status
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.specialist import booking_support as support
from caredoor.portals.specialist.forms import ActionErrorsMixin

PORTAL = Portal.SPECIALIST
PER_PAGE = 50

SORTS = {
    "name": (gettext_lazy("Name"), ("patient__name", "patient__email", "pk")),
    "next": (gettext_lazy("Next session"), (F("next_start").asc(nulls_last=True), "pk")),
    "last": (gettext_lazy("Last session"), (F("last_start").desc(nulls_last=True), "pk")),
    "since": (gettext_lazy("Newest first"), ("-created_at", "-pk")),
}


# --- what a row says ----------------------------------------------------------------------


def status_of(rel: CareRelationship) -> tuple[str, str]:
    """(label, badge class): ended with its reason, new before any session, else active."""
    if rel.ended_at is not None:
        reason = rel.get_end_reason_display() or _("Ended")
        return reason, ""
    sessions = getattr(rel, "sessions", None)
    if not sessions:
        return _("New"), "badge--info"
    return _("Active"), "badge--ok"


@dataclass(frozen=True)
class ConsentSummary:
    text: str
    complete: bool
    rows: list[Any]


def consent_summary(rel: CareRelationship) -> ConsentSummary:
    """Where the patient stands with the brand's documents: "All signed", or how many are
    missing, outdated or withdrawn."""
    rows = consent_status(rel.patient, rel.brand, profile=rel.profile)
    if not rows:
        return ConsentSummary(_("No documents to sign"), True, rows)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    if counts.get("signed", 0) == len(rows):
        return ConsentSummary(_("All signed"), True, rows)
    parts = []
    if counts.get("missing"):
        parts.append(
            ngettext("%(n)d missing", "%(n)d missing", counts["missing"]) % {"n": counts["missing"]}
        )
    if counts.get("outdated"):
        parts.append(
            ngettext("%(n)d outdated", "%(n)d outdated", counts["outdated"])
            % {"n": counts["outdated"]}
        )
    if counts.get("withdrawn"):
        parts.append(
            ngettext("%(n)d withdrawn", "%(n)d withdrawn", counts["withdrawn"])
            % {"n": counts["withdrawn"]}
        )
    return ConsentSummary(", ".join(parts), False, rows)


CONSENT_STATE = {
    "signed": (gettext_lazy("Signed"), "badge--ok"),
    "outdated": (gettext_lazy("Signed an older version"), "badge--warn"),
    "withdrawn": (gettext_lazy("Withdrawn"), "badge--danger"),
    "missing": (gettext_lazy("Not signed"), "badge--danger"),
}


@dataclass
class Row:
    rel: CareRelationship
    status: str
    badge: str
    zone: str
    next: str
    last: str
    consents: ConsentSummary

    @property
    def name(self) -> str:
        return self.rel.patient.display_name


def patient_zone(rel: CareRelationship) -> str:
    return rel.patient.time_zone or getattr(rel, "booking_zone", None) or ""


def make_row(rel: CareRelationship, zone: str) -> Row:
    label, badge = status_of(rel)
    next_start = getattr(rel, "next_start", None)
    last_start = getattr(rel, "last_start", None)
    return Row(
        rel=rel,
        status=label,
        badge=badge,
        zone=patient_zone(rel),
        next=support.when(next_start, zone) if next_start else "",
        last=support.when(last_start, zone) if last_start else "",
        consents=consent_summary(rel),
    )


def _brand_choice(request: HttpRequest, brands: list[Brand]) -> Brand | None:
    wanted = request.GET.get("brand", "")
    return next((b for b in brands if str(b.pk) == wanted), None)


# --- the list -----------------------------------------------------------------------------


@require_GET
@portal_view(PORTAL)
def patient_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = support.profile_of(request, ctx)
    context: dict[str, Any] = {"ctx": ctx, "profile": profile}
    if profile is None:
        return render(request, "specialist/patients/list.html", context)
    zone = support.zone_name(profile)
    brands = list(relationship_brands(profile))
    brand = _brand_choice(request, brands)
    search = request.GET.get("q", "").strip()[:100]
    sort = request.GET.get("sort", "name")
    if sort not in SORTS:
        sort = "name"
    show_ended = request.GET.get("ended") == "1"
    qs = relationship_rows(profile, brand, search=search)
    if not show_ended:
        qs = qs.filter(ended_at__isnull=True)
    qs = qs.order_by(*SORTS[sort][1])
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    query = {
        k: v
        for k, v in {
            "brand": brand.pk if brand else "",
            "q": search,
            "sort": sort,
            "ended": "1" if show_ended else "",
        }.items()
        if v
    }
    context.update(
        support.zone_context(profile),
        brands=brands,
        brand=brand,
        search=search,
        sort=sort,
        sorts=[(key, label) for key, (label, _order) in SORTS.items()],
        show_ended=show_ended,
        page=page,
        rows=[make_row(rel, zone) for rel in page.object_list],
        query=urlencode(query),
        filtered=bool(brand or search or show_ended),
    )
    return render(request, "specialist/patients/list.html", context)


# --- one patient --------------------------------------------------------------------------


class NoteForm(ActionErrorsMixin, forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Note"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy(
            "Private: only you see your notes. They are stored encrypted and every reading "
            "is recorded."
        ),
        error_messages={"required": gettext_lazy("Write the note first.")},
    )


def _relationship(
    request: HttpRequest, ctx: PortalContext, rel_id: int
) -> tuple[SpecialistProfile, CareRelationship]:
    profile = support.profile_or_404(request, ctx)
    return profile, access_specialist_relationship(profile, rel_id)


def _intake_url(rel: CareRelationship) -> str:
    """The intake answers page, for active relationships only (an ended one's is 404)."""
    if rel.ended_at is not None:
        return ""
    return reverse("specialist:intake_answers", args=[rel.pk])


def _propose_url(profile: SpecialistProfile, rel: CareRelationship) -> str:
    """The propose page with the patient chosen, where the specialist may schedule."""
    if rel.ended_at is not None:
        return ""
    if rel.brand_id not in {b.pk for b in support.scheduling_brands(profile)}:
        return ""
    return (
        reverse("specialist:propose")
        + "?"
        + urlencode({"patient": f"{rel.brand_id}:{rel.patient_id}"})
    )


def _record(
    request: HttpRequest,
    ctx: PortalContext,
    profile: SpecialistProfile,
    rel: CareRelationship,
    *,
    note_form: NoteForm | None = None,
    editing: Any = None,
    edit_form: NoteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    zone = support.zone_name(profile)
    rel = with_facts(
        specialist_relationships(profile).filter(pk=rel.pk).select_related("profile")
    ).get()
    bookings = list(
        access.specialist_bookings(profile)
        .filter(patient_id=rel.patient_id, brand_id=rel.brand_id)
        .order_by("-start", "-pk")
    )
    for booking in bookings:
        booking.badge = support.STATUS_BADGE.get(booking.status, "")  # type: ignore[attr-defined]
    requests = list(
        access.specialist_requests(profile)
        .filter(patient_id=rel.patient_id, brand_id=rel.brand_id)
        .order_by("-created_at", "-pk")
    )
    notes = read_notes(rel, reader=request.user, request=request)
    if editing is not None and edit_form is None:
        body = next((text for note, text in notes if note.pk == editing.pk), "")
        edit_form = NoteForm(initial={"body": body}, prefix="edit")
    row = make_row(rel, zone)
    consents = [(r, *CONSENT_STATE.get(r.state, (r.state, ""))) for r in row.consents.rows]
    context = {
        "ctx": ctx,
        "profile": profile,
        "rel": rel,
        "row": row,
        "bookings": bookings,
        "requests": requests,
        "open_request": RequestStatus.REQUESTED,
        "consents": consents,
        "notes": [
            {"note": note, "body": body, "own": note.author_id == request.user.pk}
            for note, body in notes
        ],
        "note_form": note_form or NoteForm(),
        "editing": editing,
        "edit_form": edit_form,
        "note_max": NOTE_MAX,
        "propose_url": _propose_url(profile, rel),
        "intake_url": _intake_url(rel),
        **support.zone_context(profile),
    }
    return render(request, "specialist/patients/record.html", context, status=status)


@require_GET
@portal_view(PORTAL)
def patient_record(request: HttpRequest, ctx: PortalContext, rel_id: int) -> HttpResponse:
    profile, rel = _relationship(request, ctx, rel_id)
    return _record(request, ctx, profile, rel)


@require_POST
@portal_view(PORTAL)
def note_add(request: HttpRequest, ctx: PortalContext, rel_id: int) -> HttpResponse:
    profile, rel = _relationship(request, ctx, rel_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            do_add_note(rel, author=request.user, body=form.cleaned_data["body"], request=request)
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, _("Your note was saved."))
            return redirect(reverse("specialist:patient", args=[rel.pk]) + "#notes-h")
    return _record(request, ctx, profile, rel, note_form=form, status=400)


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def note_edit(request: HttpRequest, ctx: PortalContext, rel_id: int, note_id: int) -> HttpResponse:
    profile, rel = _relationship(request, ctx, rel_id)
    note = access_own_note(rel, request.user, note_id)
    if request.method == "POST":
        form = NoteForm(request.POST, prefix="edit")
        if form.is_valid():
            try:
                do_edit_note(
                    note, author=request.user, body=form.cleaned_data["body"], request=request
                )
            except ValidationError as exc:
                form.add_action_errors(exc)
            else:
                messages.success(request, _("Your note was updated."))
                return redirect(reverse("specialist:patient", args=[rel.pk]) + "#notes-h")
        return _record(request, ctx, profile, rel, editing=note, edit_form=form, status=400)
    return _record(request, ctx, profile, rel, editing=note, edit_form=None)
