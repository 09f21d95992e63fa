"""Activate the language and time zone for this request: person first, then brand."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation


def offered_languages(brand: object | None) -> list[str]:
    if brand is None:
        return [code for code, _name in settings.LANGUAGES]
    return list(brand.languages)  # type: ignore[attr-defined]


def choose_language(request: HttpRequest) -> str:
    brand = getattr(request, "brand", None)
    offered = offered_languages(brand)
    default = brand.default_language if brand else settings.LANGUAGE_CODE  # type: ignore[attr-defined]
    user = getattr(request, "user", None)
    candidates = []
    if user is not None and user.is_authenticated and user.language:
        candidates.append(user.language)
    candidates.append(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, ""))
    for part in request.META.get("HTTP_ACCEPT_LANGUAGE", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag:
            candidates.extend([tag, tag.split("-")[0]])
    return next((c for c in candidates if c in offered), default)


def choose_zone(request: HttpRequest) -> str:
    brand = getattr(request, "brand", None)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.time_zone:
        return user.time_zone
    return brand.time_zone if brand else settings.TIME_ZONE  # type: ignore[attr-defined]


class LocaleAndZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = choose_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        try:
            timezone.activate(zoneinfo.ZoneInfo(choose_zone(request)))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        response.headers.setdefault("Vary", "Accept-Language, Cookie")
        translation.deactivate()
        timezone.deactivate()
        return response
