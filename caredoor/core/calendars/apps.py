from django.apps import AppConfig


class CalendarsConfig(AppConfig):
    name = "caredoor.core.calendars"
    label = "calendars"
    verbose_name = "Calendars"
