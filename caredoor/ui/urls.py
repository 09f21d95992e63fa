from django.urls import path

from caredoor.ui import views

app_name = "ui"
urlpatterns = [path("theme.css", views.theme_css, name="theme")]
