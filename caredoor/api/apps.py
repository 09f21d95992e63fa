from django.apps import AppConfig


class APIConfig(AppConfig):
    name = "caredoor.api"
    label = "api"
    verbose_name = "API"
