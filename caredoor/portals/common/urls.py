from django.urls import path

from caredoor.portals.common import auth_views, signup

app_name = "common"
urlpatterns = [
    path("magic/", auth_views.magic_link_request, name="magic_link_request"),
    path("magic/<str:uidb64>/<str:token>/", auth_views.magic_link_consume, name="magic_link"),
    path("invitation/<str:token>/", auth_views.accept_invitation, name="accept_invitation"),
    path("acting/", auth_views.switch_acting, name="switch_acting"),
    path("join/", signup.join_brand, name="join_brand"),
    path("documents/<int:version_id>/", signup.signup_document, name="signup_document"),
]
