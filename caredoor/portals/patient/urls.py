from django.urls import path

from caredoor.core.accounts.policy import Portal
from caredoor.portals.common import notifications
from caredoor.portals.patient import directory, views

app_name = "patient"
urlpatterns = [
    path("", views.home, name="dashboard"),
    path("account/", views.account_view, name="account"),
    *notifications.urls(Portal.PATIENT),
    path("specialists/", directory.specialist_list, name="specialists"),
    path("specialists/<int:profile_id>/", directory.specialist_detail, name="specialist"),
    path(
        "specialists/<int:profile_id>/photo/",
        directory.specialist_photo,
        name="specialist_photo",
    ),
]
