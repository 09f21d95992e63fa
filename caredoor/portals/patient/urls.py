from django.urls import path

from caredoor.core.accounts.policy import Portal
from caredoor.portals.common import messages, notifications
from caredoor.portals.patient import (
    assisted,
    booking,
    care,
    directory,
    intake,
    matching,
    packages,
    pay,
    payments,
    session_start,
    sessions,
    video_adhoc,
    views,
)
from caredoor.portals.patient import consents as consent_views
from caredoor.portals.patient import feedback as feedback_views

app_name = "patient"
urlpatterns = [
    path("", views.home, name="dashboard"),
    path("account/", views.account_view, name="account"),
    *notifications.urls(Portal.PATIENT),
    *messages.urls(Portal.PATIENT),
    path("specialists/", directory.specialist_list, name="specialists"),
    path("specialists/compare/", directory.specialist_compare, name="specialist_compare"),
    path("specialists/<int:profile_id>/", directory.specialist_detail, name="specialist"),
    path(
        "specialists/<int:profile_id>/photo/",
        directory.specialist_photo,
        name="specialist_photo",
    ),
    # booking: choose a time, confirm it, or ask for a time
    path("specialists/<int:profile_id>/book/", booking.book, name="book"),
    path(
        "specialists/<int:profile_id>/book/confirm/",
        booking.book_confirm,
        name="book_confirm",
    ),
    path(
        "specialists/<int:profile_id>/request/",
        booking.request_availability,
        name="request_availability",
    ),
    path("time-zone/", booking.set_zone, name="set_zone"),
    # guided matching and assisted scheduling (docs/matching.md)
    path("match/", matching.match_start, name="match"),
    path("match/switch/", matching.match_switch, name="match_switch"),
    path("match/<int:match_id>/", matching.match_result, name="match_result"),
    path("match/<int:match_id>/choose/", matching.match_choose, name="match_choose"),
    path("assisted/", assisted.assisted_home, name="assisted"),
    path("assisted/<int:request_id>/", assisted.assisted_detail, name="assisted_detail"),
    path(
        "assisted/<int:request_id>/withdraw/",
        assisted.assisted_withdraw,
        name="assisted_withdraw",
    ),
    # my specialists (care relationships on this brand)
    path("care/", care.my_specialists, name="care"),
    # intake questionnaires (docs/intake.md)
    path("intake/", intake.intake_list, name="intake_list"),
    path("intake/<int:questionnaire_id>/", intake.intake_form, name="intake"),
    # my sessions
    path("sessions/", sessions.bookings, name="bookings"),
    path("sessions/<int:booking_id>/", sessions.booking_detail, name="booking"),
    path("sessions/<int:booking_id>/accept/", sessions.proposal_accept, name="proposal_accept"),
    path("sessions/<int:booking_id>/decline/", sessions.proposal_decline, name="proposal_decline"),
    path("sessions/<int:booking_id>/cancel/", sessions.booking_cancel, name="booking_cancel"),
    # paying for a held session (docs/payments.md)
    path("sessions/<int:booking_id>/pay/", pay.pay, name="pay"),
    path("sessions/<int:booking_id>/pay/attempt/", pay.pay_attempt, name="pay_attempt"),
    path("sessions/<int:booking_id>/pay/status/", pay.pay_status, name="pay_status"),
    path("sessions/<int:booking_id>/pay/voucher/", pay.pay_voucher, name="pay_voucher"),
    # packages of sessions (docs/payments.md, "Packages")
    path("specialists/<int:profile_id>/packages/", packages.package_list, name="packages"),
    path(
        "specialists/<int:profile_id>/packages/<int:offer_id>/buy/",
        packages.package_buy,
        name="package_buy",
    ),
    path("packages/<int:purchase_id>/pay/", packages.package_pay, name="package_pay"),
    path(
        "packages/<int:purchase_id>/pay/attempt/",
        packages.package_pay_attempt,
        name="package_pay_attempt",
    ),
    path(
        "packages/<int:purchase_id>/pay/status/",
        packages.package_pay_status,
        name="package_pay_status",
    ),
    # my payments: transaction history and receipts (docs/payments.md)
    path("payments/", payments.payments, name="payments"),
    path(
        "payments/<int:payment_id>/receipt.pdf",
        payments.receipt,
        name="receipt",
    ),
    path(
        "sessions/<int:booking_id>/move/",
        sessions.booking_reschedule,
        name="booking_reschedule",
    ),
    path("sessions/<int:booking_id>/calendar.ics", sessions.booking_ics, name="booking_ics"),
    # feedback after a completed session
    path("feedback/<int:booking_id>/", feedback_views.give_feedback, name="feedback"),
    path(
        "requests/<int:request_id>/withdraw/",
        sessions.request_withdraw,
        name="request_withdraw",
    ),
    # consents: my documents, guided signing, withdrawal; joining a session (gated)
    path("consents/", consent_views.consent_list, name="consents"),
    path("consents/sign/", consent_views.consent_sign, name="consents_sign"),
    path("consents/versions/<int:version_id>/", consent_views.consent_read, name="consents_read"),
    path(
        "consents/<int:signature_id>/withdraw/",
        consent_views.consent_withdraw,
        name="consents_withdraw",
    ),
    path("sessions/<int:booking_id>/join/", session_start.session_join, name="session_join"),
    *video_adhoc.urlpatterns,  # an ad-hoc video call the specialist started
]
