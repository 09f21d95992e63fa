"""The notification centre, the same in every portal (patient, specialist, organization,
affiliate), with its settings page (``notification_settings.py``).

A person sees only their own notifications on the current brand and in the current portal;
marking read is a POST, and a notification that is not theirs here is a 404 that changes
nothing. ``urls(portal)`` gives a portal its routes.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from caredoor.core.notifications.actions import do_mark_all_read, do_mark_read
from caredoor.core.notifications.models import Notification
from caredoor.core.notifications.queries import inbox
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.common.notification_settings import notification_settings

PER_PAGE = 30


def notification_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    items = inbox(request.user, ctx.brand, ctx.portal)  # type: ignore[arg-type]
    page = Paginator(items, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "common/notifications.html",
        {
            "ctx": ctx,
            "page": page,
            "any_unread": items.unread().exists(),
            "read_url": f"{ctx.portal}:notification_read",
            "read_all_url": f"{ctx.portal}:notifications_read_all",
            "settings_url": f"{ctx.portal}:notification_settings",
        },
    )


def _back(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    return redirect(reverse(f"{ctx.portal}:notifications"))


def mark_read(request: HttpRequest, ctx: PortalContext, notification_id: int) -> HttpResponse:
    try:
        do_mark_read(request.user, ctx.brand, ctx.portal, notification_id)  # type: ignore[arg-type]
    except Notification.DoesNotExist:
        raise Http404 from None
    return _back(request, ctx)


def mark_all_read(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    do_mark_all_read(request.user, ctx.brand, ctx.portal)  # type: ignore[arg-type]
    return _back(request, ctx)


def urls(portal: str) -> list:  # type: ignore[type-arg]
    """The portal's notification routes (names ``notifications``, ``notification_read``,
    ``notifications_read_all``, ``notification_settings`` in the portal's namespace)."""
    view = portal_view(portal)
    return [
        path("notifications/", view(notification_list), name="notifications"),
        path(
            "notifications/settings/",
            view(notification_settings),
            name="notification_settings",
        ),
        path(
            "notifications/<int:notification_id>/read/",
            require_POST(view(mark_read)),
            name="notification_read",
        ),
        path(
            "notifications/read-all/",
            require_POST(view(mark_all_read)),
            name="notifications_read_all",
        ),
    ]
