"""The specialist's calendar subscription: the secret feed URL, and making, replacing or
removing it. The page shows the secret, so it is never cached."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from caredoor.core.accounts.policy import Portal
from caredoor.core.booking.ics import FEED_PAST_DAYS
from caredoor.core.calendars.actions import do_create_feed, do_regenerate_feed, do_revoke_feed
from caredoor.core.calendars.queries import feed_of
from caredoor.core.specialists.queries import own_profile
from caredoor.portals.common.access import PortalContext, portal_view

PORTAL = Portal.SPECIALIST
ACTIONS = {
    "create": do_create_feed,
    "regenerate": do_regenerate_feed,
    "revoke": do_revoke_feed,
}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@portal_view(PORTAL)
def calendar_feed(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    profile = own_profile(request.user, ctx.membership.network_id)
    if profile is None:
        if request.method == "POST":
            raise Http404
        return redirect("specialist:dashboard")
    if request.method == "POST":
        action = ACTIONS.get(request.POST.get("action", ""))
        if action is None:
            return HttpResponseBadRequest()
        action(profile, actor=request.user, role=ctx.role, request=request)
        messages.success(
            request,
            {
                do_create_feed: _("Your calendar link is ready. Add it to your calendar app."),
                do_regenerate_feed: _(
                    "You have a new calendar link. The old one no longer works: "
                    "add the new one to your calendar app."
                ),
                do_revoke_feed: _("Your calendar link was removed. It no longer works."),
            }[action],
        )
        return redirect("specialist:calendar_feed")
    feed = feed_of(profile)
    url = webcal = ""
    if feed is not None:
        url = request.build_absolute_uri(reverse("calendar_feed_ics", args=[feed.token]))
        webcal = "webcal://" + url.split("://", 1)[1]
    context = {
        "ctx": ctx,
        "feed": feed,
        "feed_url": url,
        "webcal_url": webcal,
        "past_days": FEED_PAST_DAYS,
    }
    return render(request, "specialist/calendar_feed.html", context)
