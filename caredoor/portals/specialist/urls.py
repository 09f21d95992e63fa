from django.urls import path

from caredoor.core.accounts.policy import Portal
from caredoor.portals.common.auth_views import portal_login
from caredoor.portals.specialist import booking_urls, listings, onboarding, preview, views
from caredoor.portals.specialist.calendar_feed import calendar_feed

app_name = "specialist"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("account/", views.account_view, name="account"),
    path("login/", portal_login, {"portal": Portal.SPECIALIST}, name="login"),
    path("register/", views.register, name="register"),
    path("start/", views.start, name="start"),
    # onboarding wizard
    path("onboarding/", onboarding.overview, name="onboarding"),
    path("onboarding/submit/", onboarding.submit, name="onboarding_submit"),
    path("onboarding/photo/", onboarding.photo, name="onboarding_photo"),
    path("onboarding/<slug:step_key>/", onboarding.step, name="onboarding_step"),
    path("documents/<int:document_id>/", onboarding.document_download, name="document"),
    path(
        "documents/<int:document_id>/remove/",
        onboarding.document_remove,
        name="document_remove",
    ),
    # listings on the network's brands
    path("listings/", listings.listings, name="listings"),
    path(
        "listings/brand/<int:brand_id>/request/", listings.listing_request, name="listing_request"
    ),
    path("listings/<int:listing_id>/edit/", listings.listing_update, name="listing_update"),
    path("listings/<int:listing_id>/status/", listings.listing_status, name="listing_status"),
    # what patients see
    path("preview/photo/", preview.preview_photo, name="preview_photo"),
    path("preview/<int:brand_id>/", preview.preview, name="preview"),
    # the secret calendar subscription (ICS feed)
    path("calendar/subscription/", calendar_feed, name="calendar_feed"),
    # bookings, proposals, requests, series and booking rules
    *booking_urls.urlpatterns,
]
