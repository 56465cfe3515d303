"""Django admin for security admins: read the token service's rows; change them through the portal.

Writes from here would bypass the services' audit events and revocation cascades, so
every model is read-only here, and the encrypted private keys are not shown at all.
"""

from django.contrib import admin

from nhiportal.readonly_admin import ReadOnlyAdmin, ReadOnlyTabularInline

from .models import AccessRequest, Delegation, Exposure, FederatedIssuer, Grant, IssuedToken, Service, ServiceScope, SigningKey, Task, TrustDomain, WorkloadCredential


class ScopeInline(ReadOnlyTabularInline):
    model = ServiceScope


@admin.register(Service)
class ServiceAdmin(ReadOnlyAdmin):
    list_display = ("name", "audience", "environment", "sensitivity", "is_active")
    search_fields = ("name", "audience")
    inlines = [ScopeInline]


@admin.register(TrustDomain)
class TrustDomainAdmin(ReadOnlyAdmin):
    list_display = ("name", "updated_at")


@admin.register(FederatedIssuer)
class FederatedIssuerAdmin(ReadOnlyAdmin):
    list_display = ("name", "issuer", "audience", "max_age", "reusable", "updated_at")


@admin.register(WorkloadCredential)
class WorkloadCredentialAdmin(ReadOnlyAdmin):
    list_display = ("identity", "kind", "kid", "spiffe_id", "subject", "enabled", "created_at")
    list_filter = ("kind", "enabled")
    search_fields = ("kid", "spiffe_id", "subject", "identity__name")


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ("kid", "alg", "state", "created_at", "activated_at", "retiring_at", "retired_at")
    list_filter = ("state",)
    exclude = ("private_key_encrypted",)


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = ("identity", "service", "starts_at", "ends_at", "revoked_at")
    search_fields = ("identity__name", "service__name")


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "identity", "service", "state", "requested_by", "requested_at", "decided_by_label", "decided_at")
    list_filter = ("state",)
    search_fields = ("identity__name", "service__name", "justification")
    list_select_related = ("identity", "service", "requested_by")


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ("id", "identity", "service", "intent", "opened_at", "ended_at")
    search_fields = ("identity__name", "intent")


@admin.register(IssuedToken)
class IssuedTokenAdmin(ReadOnlyAdmin):
    list_display = ("jti", "identity", "audience", "issued_at", "expires_at", "revoked_at")
    search_fields = ("jti", "identity__name")
    list_select_related = ("identity",)


@admin.register(Delegation)
class DelegationAdmin(ReadOnlyAdmin):
    list_display = ("principal", "delegate", "created_by", "created_at", "revoked_at")
    search_fields = ("principal__name", "delegate__name")


@admin.register(Exposure)
class ExposureAdmin(ReadOnlyAdmin):
    list_display = ("identity", "kind", "where_found", "seen_at", "contained_at", "tokens_revoked", "reported_by")
    list_filter = ("kind", "was_live")
