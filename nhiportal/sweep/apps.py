from django.apps import AppConfig


class SweepConfig(AppConfig):
    name = "nhiportal.sweep"
    label = "sweep"
    verbose_name = "Governance sweep"

    def ready(self):
        from . import checks  # noqa: F401  (registers the settings check)
