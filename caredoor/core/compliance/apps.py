from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "caredoor.core.compliance"
    label = "compliance"
    verbose_name = "Compliance"
