from allauth.account.views import ConfirmLoginCodeView, RequestLoginCodeView
from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import include, path, re_path
from django.views.i18n import set_language
from django.views.static import serve

from caredoor.api import calendar_feed
from caredoor.api.health import healthz
from caredoor.api.stripe_webhook import stripe_webhook
from caredoor.api.v1 import api
from caredoor.core.brands.choices import SignInMethod


def brand_allows(method: str, view):  # type: ignore[no-untyped-def]
    """Wrap an allauth view so it exists only on brands that offer ``method``."""

    def wrapped(request, *args, **kwargs):  # type: ignore[no-untyped-def]
        brand = getattr(request, "brand", None)
        if brand is None or not brand.allows_sign_in(method):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


# Only superusers reach Django admin; staff status alone is not enough.
admin.site.has_permission = lambda request: request.user.is_active and request.user.is_superuser

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("webhooks/stripe/", stripe_webhook, name="stripe_webhook"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path(
        "accounts/login/code/",
        brand_allows(SignInMethod.EMAIL_CODE, RequestLoginCodeView.as_view()),
        name="account_request_login_code",
    ),
    path(
        "accounts/login/code/confirm/",
        brand_allows(SignInMethod.EMAIL_CODE, ConfirmLoginCodeView.as_view()),
        name="account_confirm_login_code",
    ),
    path("accounts/", include("caredoor.portals.common.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("brand/", include("caredoor.ui.urls")),
    # Brand logos are public; every other upload is private and served by its own view.
    re_path(
        r"^media/(?P<path>brand-logos/[\w.-]+)$", serve, {"document_root": settings.MEDIA_ROOT}
    ),
    # A specialist's calendar subscription: the secret token is the credential.
    re_path(
        r"^calendar/(?P<token>[A-Za-z0-9_-]{32,128})\.ics$",
        calendar_feed.feed,
        name="calendar_feed_ics",
    ),
    path("specialist/", include("caredoor.portals.specialist.urls")),
    path("org/", include("caredoor.portals.organization.urls")),
    path("partners/", include("caredoor.portals.affiliate.urls")),
    path("", include("caredoor.portals.patient.urls")),
]
