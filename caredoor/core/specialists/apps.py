from django.apps import AppConfig


class SpecialistsConfig(AppConfig):
    name = "caredoor.core.specialists"
    label = "specialists"
    verbose_name = "Specialists"
