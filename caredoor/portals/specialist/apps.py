from django.apps import AppConfig


class SpecialistPortalConfig(AppConfig):
    name = "caredoor.portals.specialist"
    label = "portal_specialist"
    verbose_name = "Specialist portal"
