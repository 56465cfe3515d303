from django.apps import AppConfig


class SweepConfig(AppConfig):
    name = "nhiportal.sweep"
    label = "sweep"
    verbose_name = "Governance sweep"
