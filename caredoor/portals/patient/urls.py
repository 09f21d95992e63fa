from django.urls import path

from caredoor.portals.patient import views

app_name = "patient"
urlpatterns = [
    path("", views.home, name="dashboard"),
    path("account/", views.account_view, name="account"),
]
