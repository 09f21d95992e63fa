from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "caredoor.core.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from caredoor.core.compliance.retention import register
        from caredoor.core.messaging.retention import NAME, purge_messages

        # Retention policies (a later compliance issue) purge old messages through this.
        register(NAME, purge_messages)
