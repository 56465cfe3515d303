from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data for `make run` and benchmarks. Imports every app, so nothing imports it."""

    name = "nhiportal.demo"
    label = "demo"
