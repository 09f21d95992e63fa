from django.apps import AppConfig


class UIConfig(AppConfig):
    name = "caredoor.ui"
    label = "ui"
    verbose_name = "User interface"
