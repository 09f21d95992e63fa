from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "caredoor.core.intake"
    label = "intake"
    verbose_name = "Intake"
