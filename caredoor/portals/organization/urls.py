from django.urls import path

from caredoor.core.accounts.policy import Portal
from caredoor.portals.common.auth_views import portal_login
from caredoor.portals.organization import audit, brands, members, views

app_name = "organization"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("account/", views.account_view, name="account"),
    path("login/", portal_login, {"portal": Portal.ORGANIZATION}, name="login"),
    path("brands/", brands.brand_list, name="brands"),
    path("brands/new/", brands.brand_create, name="brand_new"),
    path("brands/<int:brand_id>/", brands.brand_edit, name="brand_edit"),
    path("brands/<int:brand_id>/domains/", brands.domain_add, name="domain_add"),
    path(
        "brands/<int:brand_id>/domains/<int:domain_id>/primary/",
        brands.domain_make_primary,
        name="domain_primary",
    ),
    path(
        "brands/<int:brand_id>/domains/<int:domain_id>/remove/",
        brands.domain_remove,
        name="domain_remove",
    ),
    path("members/", members.member_list, name="members"),
    path("members/invite/", members.member_invite, name="member_invite"),
    path("members/<int:membership_id>/revoke/", members.member_revoke, name="member_revoke"),
    path(
        "members/invitations/<int:invitation_id>/revoke/",
        members.invitation_revoke,
        name="invitation_revoke",
    ),
    path("audit/", audit.audit_trail, name="audit"),
]
