from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "caredoor.core.care"
    label = "care"
    verbose_name = "Care relationships"
