from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language_info

from caredoor.core.accounts.policy import Capability, Portal
from caredoor.core.brands.choices import SignInMethod
from caredoor.core.messaging.queries import unread_total
from caredoor.core.notifications.queries import unread_count
from caredoor.ui.nav import NAV, NAV_FOR, NAV_WHEN


def _nav(request: HttpRequest, ctx: Any) -> list[dict[str, Any]]:
    items = []
    for label, name, capability in NAV.get(ctx.portal, []):
        if capability and not ctx.can(capability):
            continue
        when = NAV_WHEN.get(name)  # entries that depend on the brand's configuration
        if when is not None and not when(ctx.brand):
            continue
        who = NAV_FOR.get(name)  # entries that depend on the acting membership
        if who is not None and not who(ctx.membership):
            continue
        try:
            items.append({"label": label, "url": reverse(name), "current": False})
        except NoReverseMatch:
            continue
    # The current entry is the one whose URL is the longest prefix of the path; the patient
    # home ("/") is current only on itself, not on pages outside the navigation.
    matches = [
        i
        for i in items
        if request.path.startswith(i["url"]) and (i["url"] != "/" or request.path == "/")
    ]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["current"] = True
    return items


# Portals with a notifications page: the header links to it with the unread count.
NOTIFICATION_PAGES = {
    Portal.PATIENT: "patient:notifications",
    Portal.SPECIALIST: "specialist:notifications",
    Portal.ORGANIZATION: "organization:notifications",
    Portal.AFFILIATE: "affiliate:notifications",
}


def _notifications(request: HttpRequest, ctx: Any) -> dict[str, Any] | None:
    if ctx is None or ctx.portal not in NOTIFICATION_PAGES or ctx.brand is None:
        return None
    # A callable, so the count is one query, and only on pages that show it.
    return {
        "url": reverse(NOTIFICATION_PAGES[ctx.portal]),
        "unread": cache(lambda: unread_count(request.user, ctx.brand, ctx.portal)),
    }


# Portals with conversations: the Messages entry shows the unread count.
MESSAGE_PAGES = {
    Portal.PATIENT: "patient:messages",
    Portal.SPECIALIST: "specialist:messages",
    Portal.ORGANIZATION: "organization:messages",
}


def _messages(request: HttpRequest, ctx: Any) -> dict[str, Any] | None:
    if ctx is None or ctx.portal not in MESSAGE_PAGES or ctx.brand is None:
        return None
    if ctx.portal == Portal.ORGANIZATION and not ctx.can(Capability.MESSAGE_PEOPLE):
        return None
    # Like the notifications count: one query, only on pages that show the navigation.
    return {
        "url": reverse(MESSAGE_PAGES[ctx.portal]),
        "unread": cache(lambda: unread_total(request.user, ctx.brand, ctx.portal, ctx.membership)),
    }


def brand(request: HttpRequest) -> dict[str, Any]:
    brand = getattr(request, "brand", None)
    ctx = getattr(request, "portal", None)
    offered = brand.languages if brand else [c for c, _n in settings.LANGUAGES]
    methods = set(brand.sign_in_methods) if brand else {SignInMethod.PASSWORD}

    def my_home() -> str:
        from caredoor.core.accounts.adapters import home_for

        return home_for(request.user, brand)

    return {
        "brand": brand,
        "my_home": SimpleLazyObject(my_home),
        "portal_ctx": ctx,
        "portal": ctx.portal if ctx else None,
        "portal_label": Portal(ctx.portal).label if ctx else "",
        "nav_items": _nav(request, ctx) if ctx else [],
        "notification_inbox": _notifications(request, ctx),
        "message_inbox": _messages(request, ctx),
        "site_name": brand.name if brand else "Caredoor",
        "offered_languages": [(code, get_language_info(code)["name_local"]) for code in offered],
        "sign_in": {m: (m in methods) for m in SignInMethod.values},
    }
