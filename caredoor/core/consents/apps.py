from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "caredoor.core.consents"
    label = "consents"
    verbose_name = "Consents"
