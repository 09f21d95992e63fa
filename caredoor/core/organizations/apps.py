from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "caredoor.core.organizations"
    label = "organizations"
    verbose_name = "Organizations"
