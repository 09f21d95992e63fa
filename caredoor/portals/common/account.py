"""Account settings, the same in every portal: profile, language, time zone; links to
password and two-factor management (allauth)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from caredoor.core.accounts.actions import do_update_profile
from caredoor.core.accounts.middleware import offered_languages
from caredoor.core.accounts.queries import has_mfa
from caredoor.portals.common.access import PortalContext
from caredoor.portals.common.forms import ProfileForm


def profile(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    user = request.user
    initial = {f: getattr(user, f) for f in ("name", "phone", "time_zone", "language")}
    form = ProfileForm(
        request.POST or None, initial=initial, languages=offered_languages(ctx.brand)
    )
    if request.method == "POST" and form.is_valid():
        changed = do_update_profile(user, form.cleaned_data, request=request)  # type: ignore[arg-type]
        messages.success(
            request, _("Your settings were saved.") if changed else _("Nothing changed.")
        )
        return redirect(request.path)
    return render(
        request,
        "common/account.html",
        {
            "ctx": ctx,
            "form": form,
            "has_mfa": has_mfa(user),
        },
    )
