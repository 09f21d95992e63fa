from django.urls import path

from caredoor.core.accounts.policy import Portal
from caredoor.portals.common import messages, notifications
from caredoor.portals.common.auth_views import portal_login
from caredoor.portals.specialist import (
    booking_urls,
    intake,
    listings,
    onboarding,
    patients,
    preview,
    scheduling,
    stripe_connect,
    video_adhoc,
    views,
)
from caredoor.portals.specialist import consents as consent_views
from caredoor.portals.specialist import feedback as feedback_views
from caredoor.portals.specialist import transactions as money_views
from caredoor.portals.specialist.calendar_feed import calendar_feed

app_name = "specialist"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("account/", views.account_view, name="account"),
    *notifications.urls(Portal.SPECIALIST),
    *messages.urls(Portal.SPECIALIST),
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
    path("stripe/connect/", stripe_connect.connect_start, name="connect_start"),
    path("stripe/connect/return/", stripe_connect.connect_return, name="connect_return"),
    path(
        "listings/brand/<int:brand_id>/request/", listings.listing_request, name="listing_request"
    ),
    path("listings/<int:listing_id>/edit/", listings.listing_update, name="listing_update"),
    path("listings/<int:listing_id>/status/", listings.listing_status, name="listing_status"),
    # what patients see
    path("preview/photo/", preview.preview_photo, name="preview_photo"),
    path("preview/<int:brand_id>/", preview.preview, name="preview"),
    # scheduling: calendar, weekly hours and date overrides, session types
    path("calendar/", scheduling.calendar, name="calendar"),
    path("availability/", scheduling.availability, name="availability"),
    path("availability/weekday/<int:weekday>/", scheduling.weekday_save, name="weekday_save"),
    path("availability/rules/<int:rule_id>/remove/", scheduling.rule_remove, name="rule_remove"),
    path("availability/date/", scheduling.date_override, name="date_override"),
    path(
        "availability/date/<int:override_id>/remove/",
        scheduling.date_override_remove,
        name="date_override_remove",
    ),
    path("session-types/", scheduling.session_types, name="session_types"),
    path("session-types/new/", scheduling.session_type_edit, name="session_type_new"),
    path(
        "session-types/<int:session_type_id>/",
        scheduling.session_type_edit,
        name="session_type_edit",
    ),
    path(
        "session-types/<int:session_type_id>/deactivate/",
        scheduling.session_type_active,
        {"active": False},
        name="session_type_deactivate",
    ),
    path(
        "session-types/<int:session_type_id>/reactivate/",
        scheduling.session_type_active,
        {"active": True},
        name="session_type_reactivate",
    ),
    # feedback results (aggregates only)
    path("feedback/", feedback_views.feedback, name="feedback"),
    # the specialist's payments and refunds, and the monthly sales report (CSV, PDF)
    path("transactions/", money_views.transactions, name="transactions"),
    path(
        "transactions/report/<int:year>/<int:month>/<str:fmt>/",
        money_views.sales_report,
        name="sales_report",
    ),
    # the secret calendar subscription (ICS feed)
    path("calendar/subscription/", calendar_feed, name="calendar_feed"),
    # patients: care relationships, one patient's record, private notes
    path("patients/", patients.patient_list, name="patients"),
    path("patients/<int:rel_id>/", patients.patient_record, name="patient"),
    path("patients/<int:rel_id>/notes/", patients.note_add, name="patient_note_add"),
    path(
        "patients/<int:rel_id>/notes/<int:note_id>/edit/",
        patients.note_edit,
        name="patient_note_edit",
    ),
    # a patient's intake answers (docs/intake.md)
    path("intake/<int:relationship_id>/", intake.intake_answers, name="intake_answers"),
    # bookings, proposals, requests, series and booking rules
    *booking_urls.urlpatterns,
    *video_adhoc.urlpatterns,  # ad-hoc video calls: start, enter, end
    # consents the specialist requires before their sessions
    path("consents/", consent_views.requirements, name="consents"),
]
