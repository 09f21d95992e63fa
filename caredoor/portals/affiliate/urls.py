from django.urls import path

from caredoor.core.accounts.policy import Portal
from caredoor.portals.affiliate import views
from caredoor.portals.common import notifications
from caredoor.portals.common.auth_views import portal_login

app_name = "affiliate"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("account/", views.account_view, name="account"),
    *notifications.urls(Portal.AFFILIATE),
    path("login/", portal_login, {"portal": Portal.AFFILIATE}, name="login"),
]
