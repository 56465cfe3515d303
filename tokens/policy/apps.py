from django.apps import AppConfig


class PolicyConfig(AppConfig):
    name = "tokens.policy"
    label = "policy"
    verbose_name = "Policy (Cedar)"
