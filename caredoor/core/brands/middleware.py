"""Resolve the tenant once, at the edge: Host header -> Brand.

An unknown host gets a plain 404 that names no brand. Platform hosts (``PLATFORM_HOSTS``)
carry no brand and serve only the operator console, the admin and the API document.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound

from caredoor.core.brands.queries import brand_for_host, normalize_host

EXEMPT_PREFIXES = ("/healthz", "/static/")
NOT_FOUND = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Not found</title>"
    "<h1>Not found</h1><p>There is no site at this address.</p></html>"
)


def unknown_host_response() -> HttpResponse:
    return HttpResponseNotFound(NOT_FOUND, content_type="text/html; charset=utf-8")


class BrandMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.brand = None  # type: ignore[attr-defined]
        request.is_platform_host = False  # type: ignore[attr-defined]
        if request.path.startswith(EXEMPT_PREFIXES):
            return self.get_response(request)
        host = normalize_host(
            request.META.get("HTTP_HOST", "") or request.META.get("SERVER_NAME", "")
        )
        brand = brand_for_host(host) if host else None
        if brand is not None:
            request.brand = brand  # type: ignore[attr-defined]
        elif host in settings.PLATFORM_HOSTS:
            request.is_platform_host = True  # type: ignore[attr-defined]
        else:
            return unknown_host_response()
        return self.get_response(request)
