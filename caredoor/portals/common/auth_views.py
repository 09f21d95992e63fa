"""Sign-in extras beside allauth: magic links, portal sign-in entry points, invitations."""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from caredoor.core.accounts import actions, magic
from caredoor.core.accounts.adapters import home_for
from caredoor.core.accounts.models import User
from caredoor.core.accounts.policy import PORTAL_PATHS, portal_of_role
from caredoor.core.brands.choices import SignInMethod
from caredoor.portals.common.forms import AcceptInvitationForm, MagicLinkForm

BACKEND = "django.contrib.auth.backends.ModelBackend"


def portal_login(request: HttpRequest, portal: str) -> HttpResponse:
    """``/specialist/login/`` and friends: allauth's sign-in page, returning to the portal."""
    return redirect(f"{reverse('account_login')}?next={PORTAL_PATHS[portal]}")


def _require_method(request: HttpRequest, method: str) -> None:
    brand = getattr(request, "brand", None)
    if brand is None or not brand.allows_sign_in(method):
        raise Http404


@require_http_methods(["GET", "POST"])
def magic_link_request(request: HttpRequest) -> HttpResponse:
    _require_method(request, SignInMethod.MAGIC_LINK)
    form = MagicLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = User.objects.normalize_email(form.cleaned_data["email"]).lower()
        actions.do_send_magic_link(email=email, brand=request.brand, request=request)  # type: ignore[attr-defined]
        # The same answer whether or not the account exists: no account enumeration.
        return render(request, "common/magic_link_sent.html", {"email": email})
    return render(request, "common/magic_link_request.html", {"form": form})


@require_http_methods(["GET", "POST"])
def magic_link_consume(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """GET shows a button, POST signs in: mail scanners that prefetch links spend nothing."""
    _require_method(request, SignInMethod.MAGIC_LINK)
    user = magic.user_for(uidb64, token)
    if user is None:
        return render(request, "common/magic_link_invalid.html", status=400)
    if request.method == "POST":
        from allauth.mfa.utils import is_mfa_enabled

        if is_mfa_enabled(user):
            messages.info(
                request, _("Your account uses two-factor sign-in: sign in with it below.")
            )
            return redirect("account_login")
        user.backend = BACKEND  # type: ignore[attr-defined]
        get_adapter(request).login(request, user)
        return redirect(home_for(user, request.brand))  # type: ignore[attr-defined]
    return render(request, "common/magic_link_confirm.html", {"email": user.email})


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    invitation = actions.find_open_invitation(token)
    if invitation is None or invitation.sent_on_brand != getattr(request, "brand", None):
        return render(request, "common/invitation_invalid.html", status=404)
    existing = User.objects.filter(email=invitation.email).first()
    home = PORTAL_PATHS[portal_of_role(invitation.role)]
    if existing is not None:
        if not request.user.is_authenticated or request.user.pk != existing.pk:
            messages.info(
                request,
                _("Sign in as %(email)s to accept the invitation.") % {"email": invitation.email},
            )
            next_url = request.get_full_path()
            return redirect(f"{reverse('account_login')}?next={next_url}")
        if request.method == "POST":
            try:
                actions.do_accept_invitation(invitation, existing, request=request)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("/")
            messages.success(request, _("Welcome! Your new role is ready."))
            return redirect(home)
        return render(
            request, "common/invitation_accept.html", {"invitation": invitation, "form": None}
        )
    form = AcceptInvitationForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        user = actions.do_accept_invitation_as_new_person(
            invitation,
            name=form.cleaned_data["name"],
            password=form.cleaned_data["password1"],
            request=request,
        )
        user.backend = BACKEND  # type: ignore[attr-defined]
        get_adapter(request).login(request, user)
        messages.success(request, _("Welcome! Your account is ready."))
        return redirect(home)
    return render(
        request, "common/invitation_accept.html", {"invitation": invitation, "form": form}
    )


@require_http_methods(["POST"])
def switch_acting(request: HttpRequest) -> HttpResponse:
    """Choose which of one's memberships acts in a portal (validated on every request)."""
    from caredoor.core.accounts.queries import portal_memberships
    from caredoor.portals.common.access import session_key

    portal = request.POST.get("portal", "")
    if portal not in PORTAL_PATHS or not request.user.is_authenticated:
        raise Http404
    try:
        wanted = int(request.POST.get("membership", ""))
    except ValueError:
        raise Http404 from None
    options = portal_memberships(request.user, getattr(request, "brand", None), portal)
    if not any(m.pk == wanted for m in options):
        raise Http404
    request.session[session_key(portal)] = wanted
    target = request.POST.get("next", PORTAL_PATHS[portal])
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = PORTAL_PATHS[portal]
    return redirect(target)
