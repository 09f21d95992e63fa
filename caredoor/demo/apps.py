from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "caredoor.demo"
    label = "demo"
    verbose_name = "Demo network"
