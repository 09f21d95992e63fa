"""REST API v1 (Django Ninja). Thin: validates, reads through scoped helpers, calls actions."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from django.middleware.csrf import get_token
from ninja import NinjaAPI, Schema
from ninja.security import django_auth

from caredoor.api import errors
from caredoor.api.booking import router as booking_router
from caredoor.core.accounts.queries import memberships_on_brand

api = NinjaAPI(
    title="Caredoor API",
    version="1.0",
    description=(
        "The Caredoor platform API. Every call is scoped to the brand of the host it is sent to."
    ),
    urls_namespace="api-v1",
)
errors.install(api)


class BrandOut(Schema):
    slug: str
    name: str
    tagline: str
    primary_color: str
    accent_color: str
    default_language: str
    languages: list[str]
    time_zone: str
    currency: str
    journey_mode: str
    pricing_mode: str
    modules: list[str]
    sign_in_methods: list[str]
    visibility: str


class MembershipOut(Schema):
    id: int
    role: str
    scope: str
    scope_label: str


class MeOut(Schema):
    email: str
    name: str
    language: str
    time_zone: str
    memberships: list[MembershipOut]


@api.get("/brand", response=BrandOut, summary="The brand served on this host")
def current_brand(request: HttpRequest):  # type: ignore[no-untyped-def]
    brand = getattr(request, "brand", None)
    if brand is None:
        raise Http404
    return brand


@api.get(
    "/me", response=MeOut, auth=django_auth, summary="The signed-in person and their roles here"
)
def me(request: HttpRequest):  # type: ignore[no-untyped-def]
    user = request.user
    memberships = [
        MembershipOut(id=m.pk, role=m.role, scope=m.scope, scope_label=m.scope_label)
        for m in memberships_on_brand(user, getattr(request, "brand", None))
    ]
    return MeOut(
        email=user.email,
        name=user.name,
        language=user.language,
        time_zone=user.time_zone,
        memberships=memberships,
    )


class CsrfOut(Schema):
    token: str


@api.get("/csrf", response=CsrfOut, summary="A CSRF token (also set as the csrftoken cookie)")
def csrf(request: HttpRequest):  # type: ignore[no-untyped-def]
    """Signed-in calls that change something (POST) must send this token in the
    ``X-CSRFToken`` header, with the ``csrftoken`` cookie this call sets."""
    return CsrfOut(token=get_token(request))


api.add_router("/", booking_router)
