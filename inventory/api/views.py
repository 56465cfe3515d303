"""The identities API: the same gate, filters and service functions as the pages.

Answers a client can act on:
- 404: no such identity, or one you may not see (an outsider learns nothing);
- 403: you can see it but your role is read-only, or you may not register identities;
- 400: a field is invalid; the reason is keyed by the field's name;
- 409: the request conflicts with the identity's current state: it changed since the
  `version` you sent, or the lifecycle action cannot happen from its status. A refused
  activation is a 409 with {"detail": ..., "missing": [...]}: the request itself was well
  formed, and the same request succeeds once the identity has what is missing.
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from inventory import services, visibility
from inventory.filters import IdentityFilter
from inventory.models import Ownership
from inventory.selectors import identity_list, identity_owners, is_owner_of, may_register, with_attention_flags
from nhiportal.audit.api.serializers import AuditEventSerializer
from nhiportal.audit.selectors import events_for_identity
from nhiportal.conf import nhi_setting
from nhiportal.people.roles import is_security_admin

from .serializers import (
    ConflictSerializer,
    IdentityCreateSerializer,
    IdentitySerializer,
    IdentityUpdateSerializer,
    LifecycleSerializer,
    OwnerSerializer,
    OwnersOutputSerializer,
    OwnersSerializer,
    primary_first,
)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The identity's current state does not allow this."
    default_code = "conflict"


def _apply(write):
    """Run a service call; answer 409 when it refuses because of the identity's state."""
    try:
        return write()
    except services.StaleEdit as exc:
        raise Conflict(exc.messages[0]) from exc
    except services.TransitionRefused as exc:
        if exc.missing:
            raise Conflict({"detail": exc.messages[0], "missing": exc.missing}) from exc
        raise Conflict(exc.messages[0]) from exc


def _attest(*, actor, identity, reason, expected_version):
    # An attestation is a statement about the identity, not an edit of it: no version check.
    return services.identity_attest(actor=actor, identity=identity, note=reason).identity


_WRITE_RESPONSES = {
    200: IdentitySerializer,
    400: OpenApiResponse(description="A field is invalid; the reasons are keyed by field name."),
    403: OpenApiResponse(description="Your role can read this identity but not change it."),
    404: OpenApiResponse(description="No such identity, or one you may not see."),
    409: OpenApiResponse(
        ConflictSerializer,
        description="The identity changed since `version`, or the action cannot happen now "
        "(a refused activation lists what is `missing`).",
    ),
}
_LIFECYCLE_SCHEMA = extend_schema(request=LifecycleSerializer, responses=_WRITE_RESPONSES)


@extend_schema_view(
    list=extend_schema(summary="List the identities you may see, filtered like the inventory page"),
    retrieve=extend_schema(summary="One identity", responses={200: IdentitySerializer, 404: None}),
    create=extend_schema(
        summary="Register an identity (owners and security admins)",
        request=IdentityCreateSerializer,
        responses={201: IdentitySerializer, 400: None, 403: None},
    ),
    update=extend_schema(
        summary="Change an identity's description", request=IdentityUpdateSerializer, responses=_WRITE_RESPONSES
    ),
    partial_update=extend_schema(
        summary="Change some of an identity's description (send `version`)",
        request=IdentityUpdateSerializer,
        responses=_WRITE_RESPONSES,
    ),
)
@extend_schema(tags=["identities"])
class IdentityViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = IdentitySerializer
    parser_classes = [JSONParser]
    filterset_class = IdentityFilter
    lookup_value_converter = "uuid"

    def get_queryset(self):
        owners = Ownership.objects.select_related("person")
        return with_attention_flags(identity_list(user=self.request.user)).prefetch_related(
            Prefetch("ownerships", queryset=owners)
        )

    def get_object(self):
        # identity_list is the visibility gate: what it does not return is a 404.
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def _changeable(self):
        identity = self.get_object()
        if not visibility.can(self.request.user, visibility.CHANGE, identity):
            raise PermissionDenied("Your role can read this identity but not change it.")
        return identity

    def _shown(self, identity, status_code=status.HTTP_200_OK):
        # Read back through the gate for the annotations the output shows.
        return Response(IdentitySerializer(self.get_queryset().get(pk=identity.pk)).data, status=status_code)

    def _check_interval(self, fields: dict, current: int) -> None:
        # Lengthening the attestation interval weakens a control: security admins only, as on the pages.
        wanted = fields.get("attestation_interval_days", current)
        if wanted != current and not is_security_admin(self.request.user):
            raise ValidationError({"attestation_interval_days": ["Only security admins change the attestation interval."]})

    def create(self, request):
        user = request.user
        if not may_register(user):
            raise PermissionDenied("Registering identities needs the owner or security admin role.")
        serializer = IdentityCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        primary = fields.pop("primary_owner", user)
        backups = fields.pop("backup_owners", [])
        if primary != user and not is_security_admin(user):
            # As on the register page: you register what you answer for; handing it over is a change of owners.
            raise ValidationError({"primary_owner": ["Name yourself as primary owner; add others as backups."]})
        self._check_interval(fields, nhi_setting("ATTESTATION_INTERVAL_DAYS"))
        identity = services.identity_register(actor=user, primary_owner=primary, backup_owners=backups, **fields)
        return self._shown(identity, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        identity = self._changeable()
        serializer = IdentityUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "version" not in changes:
            raise ValidationError({"version": ["Send the version you last read, so a concurrent edit is not overwritten."]})
        version = changes.pop("version")
        self._check_interval(changes, identity.attestation_interval_days)
        identity = _apply(
            lambda: services.identity_update(actor=request.user, identity=identity, expected_version=version, **changes)
        )
        return self._shown(identity)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def _lifecycle(self, request, transition, identity=None):
        identity = identity or self._changeable()
        serializer = LifecycleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        identity = _apply(
            lambda: transition(
                actor=request.user,
                identity=identity,
                reason=serializer.validated_data["reason"],
                expected_version=serializer.validated_data.get("version"),
            )
        )
        return self._shown(identity)

    @_LIFECYCLE_SCHEMA
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        """Put a registered identity into service; refused (409) with what is `missing`."""
        return self._lifecycle(request, services.identity_activate)

    @_LIFECYCLE_SCHEMA
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        """Take an active identity out of service for now; its live tokens are revoked. Needs a reason."""
        return self._lifecycle(request, services.identity_suspend)

    @_LIFECYCLE_SCHEMA
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        """Return a suspended identity to service."""
        return self._lifecycle(request, services.identity_reactivate)

    @_LIFECYCLE_SCHEMA
    @action(detail=True, methods=["post"])
    def offboard(self, request, pk=None):
        """End an identity for good: everything it holds is revoked, its record kept. Needs a reason."""
        return self._lifecycle(request, services.identity_offboard)

    @_LIFECYCLE_SCHEMA
    @action(detail=True, methods=["post"])
    def attest(self, request, pk=None):
        """An owner states that the identity is still needed and its scope still right; `reason` is the note.

        Owners only, security admins included: an attestation is the owner's own statement."""
        identity = self.get_object()
        if not is_owner_of(request.user, identity.ownerships.all()):
            raise PermissionDenied("Only the identity's owners attest it.")
        return self._lifecycle(request, _attest, identity)

    @extend_schema(methods=["GET"], summary="The identity's owners", responses={200: OwnersOutputSerializer, 404: None})
    @extend_schema(
        methods=["PUT"],
        summary="Replace the identity's owners: one primary, any backups",
        request=OwnersSerializer,
        responses={**_WRITE_RESPONSES, 200: OwnersOutputSerializer},
    )
    @action(detail=True, methods=["get", "put"], filter_backends=[])
    def owners(self, request, pk=None):
        if request.method == "GET":
            identity = self.get_object()
        else:
            identity = self._changeable()
            current = [o.person_id for o in identity.ownerships.all()]
            serializer = OwnersSerializer(data=request.data, context={"current_owner_ids": current})
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            identity = _apply(
                lambda: services.identity_owners_set(
                    actor=request.user,
                    identity=identity,
                    primary_owner=data["primary_owner"],
                    backup_owners=data.get("backup_owners", []),
                    expected_version=data.get("version"),
                )
            )
        # Built from the write's result: replacing the owners may leave you unable to see it.
        owners = OwnerSerializer(primary_first(identity_owners(identity)), many=True).data
        return Response({"owners": owners, "version": identity.version})

    @extend_schema(summary="The identity's audit trail, newest first", responses=AuditEventSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request, pk=None):
        identity = self.get_object()
        page = self.paginate_queryset(events_for_identity(identity.pk))
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)
