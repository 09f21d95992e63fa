from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "caredoor.core.payments"
    label = "payments"
    verbose_name = "Payments"
