from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "nhiportal.compliance"
    label = "compliance"
    verbose_name = "Compliance"
