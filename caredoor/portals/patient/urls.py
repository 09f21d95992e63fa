from django.urls import path

from caredoor.portals.patient import directory, views

app_name = "patient"
urlpatterns = [
    path("", views.home, name="dashboard"),
    path("account/", views.account_view, name="account"),
    path("specialists/", directory.specialist_list, name="specialists"),
    path("specialists/<int:profile_id>/", directory.specialist_detail, name="specialist"),
    path(
        "specialists/<int:profile_id>/photo/",
        directory.specialist_photo,
        name="specialist_photo",
    ),
]
