from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, viewsets

from nhiportal.api import TakesOnlyItsParameters
from nhiportal.audit.models import AuditEvent
from nhiportal.people.roles import sees_everything

from ..filters import AuditEventFilter
from .serializers import AuditEventSerializer


_INSTANT = (
    "ISO 8601 with its zone (2026-11-30T18:00:00Z or an offset); a date alone or a time without a zone is a 400 "
    "rather than a guess: whole days are date_from and date_to."
)


class SeesEverything(permissions.BasePermission):
    """Reviewers, compliance and security admins read the whole log; owners read their
    identities' history at /identities/{id}/history/ instead."""

    message = "The audit log is open to reviewers, compliance and security admins."

    def has_permission(self, request, view):
        return sees_everything(request.user)


@extend_schema(tags=["audit"])
@extend_schema_view(
    list=extend_schema(
        summary="The audit log, newest first; oldest first after an event id, `after` (reviewers, compliance, security admins)",
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATETIME, description=f"Events at or after this instant. {_INSTANT}"),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description=f"Events before this instant. {_INSTANT}"),
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="Events on or after this day, a whole day in UTC."),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="Events on or before this day, the whole day in UTC (up to its end)."),
        ],
    ),
    retrieve=extend_schema(summary="One audit event"),
)
class AuditEventViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    permission_classes = [permissions.IsAuthenticated, SeesEverything]
    lookup_value_converter = "int"

    def get_queryset(self):
        # With a cursor, oldest first, so a SIEM reads page after page and keeps the last id.
        return AuditEvent.objects.order_by("id" if "after" in self.request.query_params else "-id")
