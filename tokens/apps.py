from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "Tokens"

    def ready(self):
        from inventory.lifecycle import identity_deactivated, register_activation_check
        from inventory.models import AIIdentity

        from . import rotation, usage  # noqa: F401  (register the settings checks)
        from .credentials import credential_activation_check
        from .revocation import on_identity_deactivated

        register_activation_check(credential_activation_check)
        identity_deactivated.connect(on_identity_deactivated, sender=AIIdentity, dispatch_uid="tokens.revoke_on_deactivation")
