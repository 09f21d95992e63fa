"""Reviewing specialists: the queue, the review page with decisions and the relationship,
and the authorized views that serve a profile's photo and credential documents."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from caredoor.core.accounts.policy import Capability, Portal, Role
from caredoor.core.compliance.uploads import file_response
from caredoor.core.specialists.actions import (
    do_review,
    do_set_relationship,
    missing_fields,
    steps_of,
)
from caredoor.core.specialists.choices import (
    PROFILE_FIELDS,
    SPOKEN_LANGUAGES,
    AgeGroup,
    Decision,
    ListingStatus,
    ProfileStatus,
    SessionFormat,
)
from caredoor.core.specialists.models import PublishedProfile, SpecialistProfile
from caredoor.core.specialists.queries import (
    access_document,
    access_reviewable_profile,
    profile_status_counts,
    profiles_reviewable_by,
    unpublished_changes,
)
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.specialist_forms import (
    RejectForm,
    RelationshipForm,
    RequestChangesForm,
)

PORTAL = Portal.ORGANIZATION
REVIEW = Capability.REVIEW_SPECIALISTS
PER_PAGE = 50

# The queue's tabs, in this order; the first is the default.
TABS = [
    ProfileStatus.SUBMITTED,
    ProfileStatus.CHANGES_REQUESTED,
    ProfileStatus.APPROVED,
    ProfileStatus.REJECTED,
    ProfileStatus.DRAFT,
]
STATUS_BADGE = {
    ProfileStatus.SUBMITTED: "badge--info",
    ProfileStatus.CHANGES_REQUESTED: "badge--warn",
    ProfileStatus.APPROVED: "badge--ok",
    ProfileStatus.REJECTED: "badge--danger",
    ProfileStatus.DRAFT: "",
}

LISTING_BADGE = {
    ListingStatus.REQUESTED: "badge--info",
    ListingStatus.APPROVED: "badge--ok",
    ListingStatus.HIDDEN: "badge--warn",
    ListingStatus.REMOVED: "",
}


# --- the queue -----------------------------------------------------------------------------


def _tab_label(status: str) -> str:
    return {
        ProfileStatus.SUBMITTED: _("Submitted"),
        ProfileStatus.CHANGES_REQUESTED: _("Changes requested"),
        ProfileStatus.APPROVED: _("Approved"),
        ProfileStatus.REJECTED: _("Rejected"),
        ProfileStatus.DRAFT: _("Drafts"),
    }[status]


@portal_view(PORTAL, needs=REVIEW)
@require_http_methods(["GET"])
def queue(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    status = request.GET.get("status") or ProfileStatus.SUBMITTED
    if status not in TABS:
        status = ProfileStatus.SUBMITTED
    q = (request.GET.get("q") or "").strip()[:100]
    profiles = profiles_reviewable_by(ctx.membership).filter(status=status)
    if q:
        profiles = profiles.filter(
            Q(display_name__icontains=q) | Q(user__email__icontains=q) | Q(user__name__icontains=q)
        )
    if status == ProfileStatus.SUBMITTED:
        profiles = profiles.order_by("submitted_at", "pk")  # oldest waiting first
    else:
        profiles = profiles.order_by("-updated_at", "-pk")
    page = Paginator(profiles, PER_PAGE).get_page(request.GET.get("page"))
    counts = profile_status_counts(ctx.membership)
    tabs = [
        {
            "status": s,
            "label": _tab_label(s),
            "count": counts[s],
            "current": s == status,
            "query": f"?status={s}",
        }
        for s in TABS
    ]
    return render(
        request,
        "organization/specialist_queue.html",
        {
            "ctx": ctx,
            "tabs": tabs,
            "status": status,
            "status_label": _tab_label(status),
            "page": page,
            "rows": [(p, STATUS_BADGE[p.status]) for p in page],
            "q": q,
            "scope_label": _network_or_org(ctx),
        },
    )


def _network_or_org(ctx: PortalContext) -> str:
    if ctx.role == Role.OPERATOR:
        return _("Every specialist of %(network)s.") % {"network": ctx.membership.network.name}
    organization = ctx.membership.organization
    return _("The specialists %(org)s onboards.") % {
        "org": organization.name if organization else ""
    }


# --- showing a profile ------------------------------------------------------------------------


@dataclass
class Shown:
    """One field's value, ready for the template."""

    kind: str  # text | items | bio | photo | link | documents | empty
    text: str = ""
    items: list[str] = field(default_factory=list)
    url: str = ""


@dataclass
class FieldRow:
    name: str
    label: str
    required: bool
    value: Shown
    changed: bool = False
    published: Shown | None = None
    note: str = ""


def _education_line(entry: Any) -> str:
    if not isinstance(entry, dict):
        return str(entry)
    degree, institution, year = (
        entry.get("degree") or "",
        entry.get("institution") or "",
        entry.get("year"),
    )
    text = ", ".join(part for part in (degree, institution) if part)
    return f"{text} ({year})" if year else text


def _preferences_lines(prefs: Any) -> list[str]:
    if not isinstance(prefs, dict):
        return []
    lines = []
    formats = [
        str(SessionFormat(f).label)
        for f in prefs.get("session_formats", [])
        if f in SessionFormat.values
    ]
    if formats:
        lines.append(_("Session formats: %(list)s") % {"list": ", ".join(formats)})
    groups = [str(AgeGroup(g).label) for g in prefs.get("age_groups", []) if g in AgeGroup.values]
    if groups:
        lines.append(_("Age groups: %(list)s") % {"list": ", ".join(groups)})
    accepts = prefs.get("accepts_new_patients")
    if accepts is True:
        lines.append(_("Taking new patients"))
    elif accepts is False:
        lines.append(_("Not taking new patients"))
    return lines


def _shown(name: str, raw: Any, *, photo_url: str = "", terms: list[str] | None = None) -> Shown:
    """Turn a stored value (working copy or published snapshot) into something to show."""
    if name in ("specializations", "categories"):
        return Shown("items", items=terms or []) if terms else Shown("empty")
    if name == "photo":
        return Shown("photo", url=photo_url) if raw else Shown("empty")
    if not raw:
        return Shown("empty")
    if name == "bio":
        return Shown("bio", text=str(raw))
    if name == "intro_video_url":
        return Shown("link", text=str(raw), url=str(raw))
    if name == "languages":
        return Shown("items", items=[str(SPOKEN_LANGUAGES.get(c, c)) for c in raw])
    if name == "education":
        return Shown("items", items=[_education_line(e) for e in raw])
    if name == "expertise":
        return Shown("items", items=[str(e) for e in raw])
    if name == "practice_preferences":
        lines = _preferences_lines(raw)
        return Shown("items", items=lines) if lines else Shown("empty")
    return Shown("text", text=str(raw))


def _working_value(profile: SpecialistProfile, name: str) -> Shown:
    if name in ("specializations", "categories"):
        return _shown(name, None, terms=[t.name for t in getattr(profile, name).all()])
    if name == "photo":
        return _shown(
            name,
            profile.photo_id,
            photo_url=reverse("organization:specialist_photo", args=[profile.pk]),
        )
    if name == "documents":
        documents = list(profile.documents.select_related("file"))
        return Shown("documents") if documents else Shown("empty")
    return _shown(name, getattr(profile, name))


def _published_value(profile: SpecialistProfile, published: PublishedProfile, name: str) -> Shown:
    if name in ("specializations", "categories"):
        return _shown(name, None, terms=[t.name for t in getattr(published, name).all()])
    if name == "photo":
        return _shown(
            name,
            published.photo_id,
            photo_url=reverse("organization:specialist_published_photo", args=[profile.pk]),
        )
    return _shown(name, published.data.get(name))


def _published(profile: SpecialistProfile) -> PublishedProfile | None:
    try:
        return profile.published
    except PublishedProfile.DoesNotExist:
        return None


def _field_groups(profile: SpecialistProfile) -> list[dict[str, Any]]:
    """Every field of the working copy, by onboarding step; fields no step asks for any
    more are shown last when they hold a value."""
    published = _published(profile)
    changed = unpublished_changes(profile)
    notes = profile.requested_changes or {}

    def row(name: str, required: bool) -> FieldRow:
        r = FieldRow(
            name=name,
            label=str(PROFILE_FIELDS[name].label),
            required=required,
            value=_working_value(profile, name),
            note=str(notes.get(name, "")),
        )
        if published is not None and name in changed:
            r.changed = True
            r.published = _published_value(profile, published, name)
        return r

    groups = []
    asked: set[str] = set()
    for step in steps_of(profile):
        groups.append(
            {
                "key": step.key,
                "title": step.display_title,
                "rows": [row(f, f in step.required) for f in step.fields],
            }
        )
        asked.update(step.fields)
    others = [row(f, False) for f in PROFILE_FIELDS if f not in asked]
    others = [r for r in others if r.value.kind != "empty"]
    if others:
        groups.append(
            {"key": "other", "title": _("Not asked by the current steps"), "rows": others}
        )
    return groups


# The history reads in the past tense, unlike the buttons that make the decisions.
DECISION_DONE = {
    Decision.APPROVE: gettext_lazy("Approved"),
    Decision.REQUEST_CHANGES: gettext_lazy("Changes requested"),
    Decision.REJECT: gettext_lazy("Rejected"),
}


def _history(profile: SpecialistProfile) -> list[dict[str, Any]]:
    rows = []
    for d in profile.decisions.select_related("reviewer"):
        rows.append(
            {
                "decision": d,
                "label": DECISION_DONE.get(d.decision, d.decision),
                "role": Role(d.reviewer_role).label
                if d.reviewer_role in Role.values
                else d.reviewer_role,
                "fields": [
                    (PROFILE_FIELDS[f].label if f in PROFILE_FIELDS else f, note)
                    for f, note in (d.fields or {}).items()
                ],
            }
        )
    return rows


def _can_set_relationship(ctx: PortalContext, profile: SpecialistProfile) -> bool:
    if ctx.role == Role.OPERATOR:
        return True
    return ctx.role == Role.ORG_ADMIN and ctx.membership.organization_id == profile.onboarded_by_id


def _review_page(
    request: HttpRequest,
    ctx: PortalContext,
    profile: SpecialistProfile,
    *,
    changes_form: RequestChangesForm | None = None,
    reject_form: RejectForm | None = None,
    decision_error: str = "",
    relationship_form: RelationshipForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_relate = _can_set_relationship(ctx, profile)
    if can_relate and relationship_form is None:
        relationship_form = RelationshipForm(profile=profile, actor=ctx.membership)
    missing = missing_fields(profile)
    return render(
        request,
        "organization/specialist_review.html",
        {
            "ctx": ctx,
            "profile": profile,
            "groups": _field_groups(profile),
            "documents": list(profile.documents.select_related("file")),
            "missing": sum(len(v) for v in missing.values()),
            "is_published": _published(profile) is not None,
            "decisions": _history(profile),
            "listings": [
                (listing, LISTING_BADGE.get(listing.status, ""))
                for listing in profile.listings.select_related("brand").order_by("brand__name")
            ],
            "can_decide": profile.status == ProfileStatus.SUBMITTED,
            "changes_form": changes_form or RequestChangesForm(),
            "reject_form": reject_form or RejectForm(),
            "decision_error": decision_error,
            "relationship_form": relationship_form if can_relate else None,
            "status_badge": STATUS_BADGE[profile.status],
        },
        status=status,
    )


@portal_view(PORTAL, needs=REVIEW)
@require_http_methods(["GET"])
def review(request: HttpRequest, ctx: PortalContext, profile_id: int) -> HttpResponse:
    profile = access_reviewable_profile(ctx.membership, profile_id)
    return _review_page(request, ctx, profile)


@portal_view(PORTAL, needs=REVIEW)
@require_POST
def decide(request: HttpRequest, ctx: PortalContext, profile_id: int) -> HttpResponse:
    profile = access_reviewable_profile(ctx.membership, profile_id)
    decision = request.POST.get("decision", "")
    changes_form = reject_form = None
    fields: dict[str, str] = {}
    reason = ""
    if decision == Decision.REQUEST_CHANGES:
        changes_form = RequestChangesForm(request.POST)
        valid = changes_form.is_valid()
        fields = changes_form.notes if valid else {}
    elif decision == Decision.REJECT:
        reject_form = RejectForm(request.POST)
        valid = reject_form.is_valid()
        reason = reject_form.cleaned_data["reason"] if valid else ""
    elif decision == Decision.APPROVE:
        valid = True
    else:
        raise Http404
    error = ""
    if valid:
        try:
            do_review(
                profile,
                decision=decision,
                reason=reason,
                fields=fields,
                reviewer=ctx.membership,
                request=request,
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            name = str(profile)
            messages.success(
                request,
                {
                    Decision.APPROVE: _("%(name)s was approved and told by email."),
                    Decision.REQUEST_CHANGES: _(
                        "%(name)s was asked for changes and told by email."
                    ),
                    Decision.REJECT: _("%(name)s was rejected and told by email."),
                }[decision]
                % {"name": name},
            )
            return redirect("organization:specialists")
    profile.refresh_from_db()
    return _review_page(
        request,
        ctx,
        profile,
        changes_form=changes_form,
        reject_form=reject_form,
        decision_error=error,
        status=400,
    )


@portal_view(PORTAL, needs=REVIEW)
@require_POST
def relationship(request: HttpRequest, ctx: PortalContext, profile_id: int) -> HttpResponse:
    profile = access_reviewable_profile(ctx.membership, profile_id)
    if not _can_set_relationship(ctx, profile):
        raise Http404
    form = RelationshipForm(request.POST, profile=profile, actor=ctx.membership)
    if form.is_valid():
        data = form.cleaned_data
        try:
            do_set_relationship(
                profile,
                organization=data["organization"],
                relationship=data["relationship"],
                pricing_control=data["pricing_control"],
                actor=ctx.membership,
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, _("The relationship was saved."))
            # An admin's organization keeps the profile (the field is fixed for them), so
            # the page stays reachable; an operator reaches every profile.
            return redirect("organization:specialist_review", profile_id=profile.pk)
    profile.refresh_from_db()
    return _review_page(request, ctx, profile, relationship_form=form, status=400)


# --- files -------------------------------------------------------------------------------------


@portal_view(PORTAL, needs=REVIEW)
@require_http_methods(["GET"])
def photo(request: HttpRequest, ctx: PortalContext, profile_id: int) -> HttpResponse:
    profile = access_reviewable_profile(ctx.membership, profile_id)
    if profile.photo is None:
        raise Http404
    return file_response(profile.photo, inline=True)


@portal_view(PORTAL, needs=REVIEW)
@require_http_methods(["GET"])
def published_photo(request: HttpRequest, ctx: PortalContext, profile_id: int) -> HttpResponse:
    profile = access_reviewable_profile(ctx.membership, profile_id)
    published = _published(profile)
    if published is None or published.photo is None:
        raise Http404
    return file_response(published.photo, inline=True)


@portal_view(PORTAL, needs=REVIEW)
@require_http_methods(["GET"])
def document(
    request: HttpRequest, ctx: PortalContext, profile_id: int, document_id: int
) -> HttpResponse:
    doc = access_document(ctx.membership, document_id)
    if doc.profile_id != profile_id:
        raise Http404
    return file_response(doc.file, inline=False)
