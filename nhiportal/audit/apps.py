from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "nhiportal.audit"
    label = "audit"
    verbose_name = "Audit log"
