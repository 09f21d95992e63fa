from django.apps import AppConfig


class CommonPortalConfig(AppConfig):
    name = "caredoor.portals.common"
    label = "portal_common"
    verbose_name = "Portal shared views"
