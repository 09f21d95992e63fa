from django.apps import AppConfig


class OrganizationPortalConfig(AppConfig):
    name = "caredoor.portals.organization"
    label = "portal_organization"
    verbose_name = "Organization portal"
