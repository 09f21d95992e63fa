from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "caredoor.core.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling"
