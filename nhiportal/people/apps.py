from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "nhiportal.people"
    label = "people"
    verbose_name = "People and API tokens"

    def ready(self):
        # Registers the OpenAPI description of token authentication (drf-spectacular extension).
        from .api import schema  # noqa: F401
