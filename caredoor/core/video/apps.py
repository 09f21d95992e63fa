from django.apps import AppConfig


class VideoConfig(AppConfig):
    name = "caredoor.core.video"
    label = "video"
    verbose_name = "Video"
