"""Patient pages for consents: the list with status, guided signing, withdrawal.

``pending_steps`` feeds the journey (journey.py): one step "Sign your documents" while
anything due by the stage is unsigned. Guided signing walks through the outstanding
documents one at a time; its only state is the signatures themselves, so "Save and
continue later" simply leaves, and the next visit starts at the first unsigned document.
The scope of a walk is given in the query string: ``stage`` (default ``session``: all
that will be due) and ``profile`` (a specialist whose own requirements count; default:
every specialist the patient is in care with), plus a safe ``next`` to return to.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from caredoor.core.accounts.policy import Portal
from caredoor.core.brands.choices import JourneyStage
from caredoor.core.brands.models import Brand
from caredoor.core.care.queries import patient_relationships
from caredoor.core.consents import queries
from caredoor.core.consents.actions import do_sign, do_withdraw
from caredoor.core.consents.models import ConsentKind
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.next_url import safe_next
from caredoor.portals.patient.journey import Step

PORTAL = Portal.PATIENT


# --- the journey ---------------------------------------------------------------------------


def _sign_url(stage: str, profile: Any = None) -> str:
    params = {"stage": stage}
    if profile is not None:
        params["profile"] = str(profile.pk)
    return f"{reverse('patient:consents_sign')}?{urlencode(params)}"


def pending_steps(
    request: HttpRequest, brand: Brand, stage: str, *, profile: Any = None
) -> list[Step]:
    """One "sign your documents" step while anything due by ``stage`` is unsigned.

    Terms and privacy (stage ``signup``) are asked for on every brand; other documents
    only on brands with the "consents" module (the rule lives in ``core.consents.queries``,
    so these steps, the booking refusal and the session gate always agree).
    """
    user = request.user
    if not getattr(user, "is_authenticated", False):
        return []
    due = queries.outstanding(user, brand, stage, profile=profile)
    if not due:
        return []
    if len(due) == 1:
        title = _("Sign: %(title)s") % {"title": due[0].document.title}
    else:
        title = ngettext("Sign %(n)d document", "Sign %(n)d documents", len(due)) % {"n": len(due)}
    # The title names a single document already; several are listed in the detail.
    detail = ", ".join(v.document.title for v in due) if len(due) > 1 else ""
    return [Step(kind="consent", title=title, url=_sign_url(stage, profile), detail=detail)]


# --- helpers -------------------------------------------------------------------------------


def _profile_param(request: HttpRequest, brand: Brand, value: str | None) -> Any:
    """A specialist the patient is (or was) in care with on this brand, else None."""
    if not value or not value.isdigit():
        return None
    rel = patient_relationships(request.user, brand).filter(profile_id=int(value)).first()
    return rel.profile if rel else None


def _stage_param(value: str | None) -> str:
    return value if value in JourneyStage.values else JourneyStage.SESSION.value


def _scope(request: HttpRequest, brand: Brand) -> tuple[str, Any, list[Any]]:
    params = request.POST if request.method == "POST" else request.GET
    stage = _stage_param(params.get("stage"))
    profile = _profile_param(request, brand, params.get("profile"))
    profiles = [] if profile is not None else queries.patient_profiles(request.user, brand)
    return stage, profile, profiles


WITHDRAWAL_EFFECT = {
    ConsentKind.TERMS: gettext_lazy(
        "Withdrawing your acceptance of the terms means you cannot book or attend sessions "
        "on this service until you accept them again. Your account and your bookings stay."
    ),
    ConsentKind.PRIVACY: gettext_lazy(
        "Withdrawing your acceptance of the privacy notice means you cannot book or attend "
        "sessions on this service until you accept it again. Your account and your "
        "bookings stay; withdrawing does not delete data already recorded."
    ),
    ConsentKind.TREATMENT: gettext_lazy(
        "Withdrawing the treatment agreement means your sessions cannot take place until "
        "you sign it again. Upcoming bookings stay booked."
    ),
    ConsentKind.TELEHEALTH: gettext_lazy(
        "Withdrawing the telehealth consent means your video sessions cannot take place "
        "until you sign again. Upcoming bookings stay booked."
    ),
    ConsentKind.DATA_PROCESSING: gettext_lazy(
        "Withdrawing your data processing consent means sessions that need it cannot take "
        "place until you sign again. Upcoming bookings stay booked; withdrawing does not "
        "delete data already recorded."
    ),
    ConsentKind.RECORDING: gettext_lazy(
        "Withdrawing your recording consent means sessions with specialists who need it "
        "cannot take place until you sign again. Upcoming bookings stay booked."
    ),
}
DEFAULT_EFFECT = gettext_lazy(
    "Withdrawing means that whatever needs this document (booking, or starting a session) "
    "waits until you sign it again. Upcoming bookings stay booked."
)


def withdrawal_effect(kind: str) -> str:
    return str(WITHDRAWAL_EFFECT.get(kind, DEFAULT_EFFECT))


STATE_LABELS = {
    "signed": (gettext_lazy("Signed"), "badge--ok"),
    "outdated": (gettext_lazy("New version to sign"), "badge--warn"),
    "withdrawn": (gettext_lazy("Withdrawn"), "badge--danger"),
    "missing": (gettext_lazy("Not signed"), "badge--warn"),
}


# --- pages ---------------------------------------------------------------------------------


@portal_view(PORTAL)
@require_http_methods(["GET"])
def consent_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brand = ctx.brand
    assert brand is not None
    profiles = queries.patient_profiles(request.user, brand)
    rows = queries.consent_status(request.user, brand, profiles=profiles)
    required = [r for r in rows if r.is_required]
    signed = sum(1 for r in required if r.is_signed)
    items = [
        {
            "row": r,
            "label": str(STATE_LABELS[r.state][0]),
            "badge": STATE_LABELS[r.state][1],
            "stage": JourneyStage(r.required_by).label if r.required_by else _("On request"),
        }
        for r in rows
    ]
    return render(
        request,
        "patient/consents/list.html",
        {
            "ctx": ctx,
            "items": items,
            "signed": signed,
            "total": len(required),
            "percent": round(100 * signed / len(required)) if required else 100,
            "sign_url": _sign_url(JourneyStage.SESSION),
        },
    )


@portal_view(PORTAL)
@require_http_methods(["GET", "POST"])
def consent_sign(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    brand = ctx.brand
    assert brand is not None
    params = request.POST if request.method == "POST" else request.GET
    next_url = safe_next(request, params.get("next"))
    stage, profile, profiles = _scope(request, brand)
    due = queries.outstanding(request.user, brand, stage, profile=profile, profiles=profiles)
    in_scope = queries.due_versions(brand, stage, profile=profile, profiles=profiles)
    error = ""
    if request.method == "POST":
        if params.get("action") == "pause":
            messages.info(
                request,
                _("Saved. What you signed is kept; you can continue where you left off."),
            )
            return redirect("patient:consents")
        version = next((v for v in due if str(v.pk) == params.get("version")), None)
        if version is None:
            # Signed meanwhile (another tab), or a new version was published: show the next.
            messages.warning(
                request, _("This document changed or was already signed. Please check again.")
            )
            return redirect(_self_url(stage, profile, next_url))
        if params.get("agree") != "on":
            error = _("Tick the box to confirm that you have read and agree to the document.")
        else:
            try:
                do_sign(request.user, version, brand=brand, request=request)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect(_self_url(stage, profile, next_url))
            remaining = len(due) - 1
            if remaining:
                title = version.document.title
                messages.success(request, _("Signed: %(title)s.") % {"title": title})
                return redirect(_self_url(stage, profile, next_url))
            messages.success(request, _("Thank you. Everything is signed."))
            return redirect(next_url or reverse("patient:consents"))
    if not due:
        if next_url:
            return redirect(next_url)
        messages.info(request, _("Nothing to sign right now."))
        return redirect("patient:consents")
    version = due[0]
    total = len(in_scope)
    done = total - len(due)
    return render(
        request,
        "patient/consents/sign.html",
        {
            "ctx": ctx,
            "version": version,
            "document": version.document,
            "position": done + 1,
            "total": total,
            "done": done,
            "percent": round(100 * done / total) if total else 0,
            "remaining": due,
            "stage": stage,
            "profile": profile,
            "next_url": next_url,
            "error": error,
        },
        status=400 if error else 200,
    )


def _self_url(stage: str, profile: Any, next_url: str) -> str:
    url = _sign_url(stage, profile)
    if next_url:
        url += "&" + urlencode({"next": next_url})
    return url


@portal_view(PORTAL)
@require_http_methods(["GET", "POST"])
def consent_withdraw(request: HttpRequest, ctx: PortalContext, signature_id: int) -> HttpResponse:
    brand = ctx.brand
    assert brand is not None
    signature = queries.access_own_signature(request.user, brand, signature_id)
    document = signature.version.document
    if signature.withdrawn_at is not None:
        messages.info(request, _("This consent was already withdrawn."))
        return redirect("patient:consents")
    if request.method == "POST":
        try:
            do_withdraw(signature, user=request.user, request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("You withdrew your consent to “%(title)s”. You can sign it again at any time.")
                % {"title": document.title},
            )
        return redirect("patient:consents")
    return render(
        request,
        "patient/consents/withdraw.html",
        {
            "ctx": ctx,
            "signature": signature,
            "document": document,
            "effect": withdrawal_effect(document.kind),
        },
    )


@portal_view(PORTAL)
@require_http_methods(["GET"])
def consent_read(request: HttpRequest, ctx: PortalContext, version_id: int) -> HttpResponse:
    """The text of a version of one of this brand's documents (e.g. the one signed)."""
    brand = ctx.brand
    assert brand is not None
    version = queries.access_version(brand, version_id)
    current = queries.current_version(version.document)
    return render(
        request,
        "patient/consents/read.html",
        {"ctx": ctx, "version": version, "document": version.document, "current": current},
    )
