from django.apps import AppConfig


class PatientPortalConfig(AppConfig):
    name = "caredoor.portals.patient"
    label = "portal_patient"
    verbose_name = "Patient portal"
