from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "caredoor.core.messaging"
    label = "messaging"
    verbose_name = "Messaging"
