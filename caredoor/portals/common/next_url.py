"""Where to go back to: a ``next`` address is followed only when it stays on this host."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, value: str | None, default: str = "") -> str:
    """``value`` when it is an address on this host (over HTTPS on secure requests), else
    ``default``: an open redirect to another site is never followed."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return default


def next_of(request: HttpRequest, default: str = "") -> str:
    """The request's own ``next`` (form field first, then query string), made safe."""
    return safe_next(request, request.POST.get("next") or request.GET.get("next"), default)
