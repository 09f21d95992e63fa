from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "caredoor.core.feedback"
    label = "feedback"
    verbose_name = "Feedback"
