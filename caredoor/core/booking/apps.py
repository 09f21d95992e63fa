from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "caredoor.core.booking"
    label = "booking"
    verbose_name = "Booking"
