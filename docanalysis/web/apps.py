from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "docanalysis.web"
    label = "web"
    verbose_name = "docanalysis web UI"
