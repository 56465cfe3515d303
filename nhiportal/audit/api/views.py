from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, viewsets

from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import sees_everything

from ..filters import AuditEventFilter
from .serializers import AuditEventSerializer


class SeesEverything(permissions.BasePermission):
    """Reviewers, compliance and security admins read the whole log; owners read their
    identities' history at /identities/{id}/history/ instead."""

    message = "The audit log is open to reviewers, compliance and security admins."

    def has_permission(self, request, view):
        return sees_everything(request.user)


@extend_schema(tags=["audit"])
@extend_schema_view(
    list=extend_schema(summary="The audit log, newest first; oldest first after an event id, `after` (reviewers, compliance, security admins)"),
    retrieve=extend_schema(summary="One audit event"),
)
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    permission_classes = [permissions.IsAuthenticated, SeesEverything]
    lookup_value_converter = "int"

    def get_queryset(self):
        # With a cursor, oldest first, so a SIEM reads page after page and keeps the last id.
        return AuditEvent.objects.order_by("id" if "after" in self.request.query_params else "-id")
