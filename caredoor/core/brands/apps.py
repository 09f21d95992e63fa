from django.apps import AppConfig


class BrandsConfig(AppConfig):
    name = "caredoor.core.brands"
    label = "brands"
    verbose_name = "Brands"
