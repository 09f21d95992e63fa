from django.urls import path

from caredoor.portals.common import auth_views

app_name = "common"
urlpatterns = [
    path("magic/", auth_views.magic_link_request, name="magic_link_request"),
    path("magic/<str:uidb64>/<str:token>/", auth_views.magic_link_consume, name="magic_link"),
    path("invitation/<str:token>/", auth_views.accept_invitation, name="accept_invitation"),
    path("acting/", auth_views.switch_acting, name="switch_acting"),
]
