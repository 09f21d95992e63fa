from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "caredoor.core.notifications"
    label = "notifications"
    verbose_name = "Notifications"
