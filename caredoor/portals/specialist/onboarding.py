"""The onboarding wizard: an overview, one page per step, documents, the photo, submission.

Steps and required fields come from the operator's scheme (``steps_of``). Views validate and
call the core actions; every file is checked (``check_upload``) before it is stored, and a
refused file leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caredoor.core.accounts.policy import Portal
from caredoor.core.compliance.uploads import file_response, store_file
from caredoor.core.specialists.actions import (
    do_add_document,
    do_remove_document,
    do_save_step,
    do_submit,
    missing_fields,
)
from caredoor.core.specialists.choices import PROFILE_FIELDS, PUBLIC_FIELDS, ProfileStatus
from caredoor.core.specialists.models import SpecialistProfile
from caredoor.core.specialists.queries import access_document, own_profile, published_version
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.specialist.forms import DocumentForm, StepForm
from caredoor.portals.specialist.progress import Progress, is_editable, progress_of

PORTAL = Portal.SPECIALIST


def _own_profile(request: HttpRequest, ctx: PortalContext) -> SpecialistProfile | None:
    return own_profile(request.user, ctx.membership.network_id)


def _documents_step(progress: Progress) -> str | None:
    return next((s.step.key for s in progress.steps if "documents" in s.step.fields), None)


def _common(profile: SpecialistProfile, progress: Progress) -> dict[str, Any]:
    return {
        "profile": profile,
        "progress": progress,
        "editable": is_editable(profile),
        "statuses": ProfileStatus,
        "has_published": published_version(profile) is not None,
        "decision": profile.decisions.first(),
    }


@require_GET
@portal_view(PORTAL)
def overview(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = _own_profile(request, ctx)
    if profile is None:
        return redirect("specialist:dashboard")
    progress = progress_of(profile)
    context = {
        "ctx": ctx,
        **_common(profile, progress),
        "resume": progress.resume(profile.current_step),
    }
    return render(request, "specialist/onboarding_overview.html", context)


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def step(request: HttpRequest, ctx: PortalContext, step_key: str) -> HttpResponse:
    profile = _own_profile(request, ctx)
    if profile is None:
        return redirect("specialist:dashboard")
    progress = progress_of(profile)
    state = next((s for s in progress.steps if s.step.key == step_key), None)
    if state is None:
        raise Http404
    current = state.step
    editable = is_editable(profile)
    has_documents = "documents" in current.fields
    document_form = DocumentForm(prefix="doc") if has_documents else None
    form = StepForm(step=current, profile=profile)

    if request.method == "POST":
        if not editable:
            messages.error(
                request, _("Your profile is with the reviewers and cannot be changed now.")
            )
            return redirect(request.path)
        if request.POST.get("form") == "document" and has_documents:
            document_form = DocumentForm(request.POST, request.FILES, prefix="doc")
            if document_form.is_valid():
                data = document_form.cleaned_data
                with transaction.atomic():
                    stored = store_file(
                        data["file"], purpose="specialist.document", created_by=request.user
                    )
                    do_add_document(
                        profile,
                        kind=data["kind"],
                        title=data["title"],
                        stored=stored,
                        actor=request.user,  # type: ignore[arg-type]
                        request=request,
                    )
                messages.success(request, _("“%(title)s” was uploaded.") % {"title": data["title"]})
                return redirect(f"{request.path}#documents")
        else:
            action = request.POST.get("action", "continue")
            form = StepForm(
                request.POST,
                request.FILES,
                step=current,
                profile=profile,
                enforce_required=action == "continue",
            )
            documents_missing = (
                action == "continue"
                and has_documents
                and "documents" in current.required
                and not profile.documents.exists()
            )
            if form.is_valid() and not documents_missing:
                was_approved = profile.status == ProfileStatus.APPROVED
                try:
                    changed = _save_step(request, profile, current.key, form)
                except ValidationError as exc:
                    form.add_action_errors(exc)
                else:
                    return _after_save(
                        request, profile, progress, current.key, action, changed, was_approved
                    )
            if request.FILES.get("photo") and form.errors and "photo" not in form.errors:
                # Browsers do not keep a chosen file when the page comes back with errors.
                form.add_error(
                    "photo", _("Your photo was not saved either. Please choose it again.")
                )
            if documents_missing:
                messages.error(request, _("Upload at least one credential document to continue."))

    context = {
        "ctx": ctx,
        **_common(profile, progress),
        "state": state,
        "form": form,
        "document_form": document_form,
        "documents": list(profile.documents.select_related("file")) if has_documents else [],
        "documents_note": (profile.requested_changes or {}).get("documents", ""),
        "public_fields": [f for f in current.fields if f in PUBLIC_FIELDS],
        "next_state": next((s for s in progress.steps if s.number == state.number + 1), None),
    }
    return render(request, "specialist/onboarding_step.html", context)


def _save_step(
    request: HttpRequest, profile: SpecialistProfile, step_key: str, form: StepForm
) -> list[str]:
    values = form.values()
    with transaction.atomic():
        if "photo" in values:
            values["photo"] = store_file(
                values["photo"], purpose="specialist.photo", created_by=request.user
            )
        return do_save_step(profile, step_key, values, actor=request.user, request=request)  # type: ignore[arg-type]


def _after_save(
    request: HttpRequest,
    profile: SpecialistProfile,
    progress: Progress,
    step_key: str,
    action: str,
    changed: list[str],
    was_approved: bool,
) -> HttpResponse:
    profile.refresh_from_db()
    if was_approved and profile.status == ProfileStatus.SUBMITTED:
        messages.info(
            request,
            _(
                "Your changes were sent for review. Until they are approved, patients keep "
                "seeing your approved profile."
            ),
        )
        return redirect("specialist:onboarding")
    if action == "pause":
        messages.success(
            request,
            _("Saved. You can continue where you left off at any time."),
        )
        return redirect("specialist:dashboard")
    if changed:
        messages.success(request, _("Saved."))
    keys = [s.step.key for s in progress.steps]
    index = keys.index(step_key)
    if index + 1 < len(keys):
        return redirect("specialist:onboarding_step", step_key=keys[index + 1])
    return redirect("specialist:onboarding_submit")


@require_http_methods(["GET", "POST"])
@portal_view(PORTAL)
def submit(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = _own_profile(request, ctx)
    if profile is None:
        return redirect("specialist:dashboard")
    if request.method == "POST":
        try:
            do_submit(profile, actor=request.user, request=request)  # type: ignore[arg-type]
        except ValidationError as exc:
            if getattr(exc, "code", None) != "incomplete":
                messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("Your profile was submitted. We will email you when the review is done."),
            )
            return redirect("specialist:dashboard")
        profile.refresh_from_db()
    progress = progress_of(profile)
    missing = missing_fields(profile)
    context = {
        "ctx": ctx,
        **_common(profile, progress),
        "missing": [
            (s, [PROFILE_FIELDS[f].label for f in missing[s.step.key]])
            for s in progress.steps
            if s.step.key in missing
        ],
        "can_submit": profile.status in (ProfileStatus.DRAFT, ProfileStatus.CHANGES_REQUESTED)
        and not missing,
    }
    return render(request, "specialist/onboarding_submit.html", context)


@require_GET
@portal_view(PORTAL)
def photo(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    """The specialist's own working photo (what they uploaded last); nobody else's."""
    profile = _own_profile(request, ctx)
    if profile is None or profile.photo is None:
        raise Http404
    return file_response(profile.photo, inline=True)


@require_GET
@portal_view(PORTAL)
def document_download(request: HttpRequest, ctx: PortalContext, document_id: int) -> HttpResponse:
    document = access_document(ctx.membership, document_id)
    return file_response(document.file, inline=False)


@require_POST
@portal_view(PORTAL)
def document_remove(request: HttpRequest, ctx: PortalContext, document_id: int) -> HttpResponse:
    document = access_document(ctx.membership, document_id)
    profile = document.profile
    progress = progress_of(profile)
    back = reverse("specialist:onboarding")
    key = _documents_step(progress)
    if key:
        back = reverse("specialist:onboarding_step", args=[key]) + "#documents"
    if not is_editable(profile):
        messages.error(request, _("Your profile is with the reviewers and cannot be changed now."))
        return redirect(back)
    title = document.title
    do_remove_document(document, actor=request.user, request=request)  # type: ignore[arg-type]
    messages.success(request, _("“%(title)s” was removed.") % {"title": title})
    return redirect(back)
