from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "caredoor.core.matching"
    label = "matching"
    verbose_name = "Matching"
