"""URLs of the specialist's bookings, proposals, requests, series and booking rules
(included by ``specialist/urls.py``)."""

from django.urls import path

from caredoor.core.booking.models import BookingStatus
from caredoor.portals.specialist import bookings, policy_views, proposals, series_views, video

urlpatterns = [
    path("bookings/", bookings.booking_list, name="bookings"),
    path("bookings/<int:booking_id>/", bookings.booking_detail, name="booking"),
    path("bookings/<int:booking_id>/join/", video.session_join, name="session_join"),
    path("bookings/<int:booking_id>/cancel/", bookings.booking_cancel, name="booking_cancel"),
    path(
        "bookings/<int:booking_id>/reschedule/",
        bookings.booking_reschedule,
        name="booking_reschedule",
    ),
    path(
        "bookings/<int:booking_id>/completed/",
        bookings.booking_outcome,
        {"outcome": BookingStatus.COMPLETED},
        name="booking_complete",
    ),
    path(
        "bookings/<int:booking_id>/no-show/",
        bookings.booking_outcome,
        {"outcome": BookingStatus.NO_SHOW},
        name="booking_no_show",
    ),
    path(
        "bookings/<int:booking_id>/withdraw/", bookings.proposal_withdraw, name="proposal_withdraw"
    ),
    path("bookings/<int:booking_id>/series/change/", bookings.series_change, name="series_change"),
    path("bookings/<int:booking_id>/series/cancel/", bookings.series_cancel, name="series_cancel"),
    path("bookings/propose/", proposals.propose, name="propose"),
    path("bookings/series/new/", series_views.series_new, name="series_new"),
    path("bookings/requests/<int:request_id>/", proposals.request_answer, name="request"),
    path(
        "bookings/requests/<int:request_id>/decline/",
        proposals.request_decline,
        name="request_decline",
    ),
    path("bookings/rules/", policy_views.booking_policies, name="booking_policies"),
    path(
        "bookings/rules/<int:brand_id>/",
        policy_views.booking_policy_save,
        name="booking_policy_save",
    ),
]
