from django.urls import path

from caredoor.core.accounts.policy import Portal
from caredoor.portals.common.auth_views import portal_login
from caredoor.portals.organization import views

app_name = "organization"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("account/", views.account_view, name="account"),
    path("login/", portal_login, {"portal": Portal.ORGANIZATION}, name="login"),
]
