from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "nhiportal.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
