from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "Tokens"

    def ready(self):
        from inventory.handover import ownerships_handed_over
        from inventory.lifecycle import identity_deactivated, register_activation_check
        from inventory.models import AIIdentity, Ownership

        from . import rotation, usage  # noqa: F401  (register the settings checks)
        from .credentials import credential_activation_check
        from .revocation import on_identity_deactivated
        from .services import on_ownerships_handed_over

        register_activation_check(credential_activation_check)
        identity_deactivated.connect(on_identity_deactivated, sender=AIIdentity, dispatch_uid="tokens.revoke_on_deactivation")
        ownerships_handed_over.connect(on_ownerships_handed_over, sender=Ownership, dispatch_uid="tokens.services_on_handover")
