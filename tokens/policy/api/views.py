"""The policy API: the same access rules, selectors and services as the pages.

- 403: your role may not read policies (no role at all), or may not change them;
- 404: no such version or decision, or one you may not see;
- 400: a field is invalid (policy text problems come keyed as "text", each "Line N: ...");
- replay (`GET policy-versions/{n}/replay/?limit=N`) judges recent decisions with a version
  without recording anything; it shows every identity's, so owners get 403;
- 409: activation refused: examples fail, or the version would deny every recent request and
  `confirm_deny_all` was not sent ({"detail": ..., "needs_confirmation": true}).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory import selectors as inventory_selectors
from nhiportal.api import JSONParser, TakesOnlyItsParameters
from nhiportal.time_window import DAY_OR_INSTANT
from tokens.models import Service

from .. import selectors, services
from ..access import can_change_policies, can_read_policies, reads_every_version
from ..compiled import compiled_version
from ..filters import DecisionFilter
from ..replay import replay
from ..simulate import simulate
from .serializers import (
    ActivateSerializer,
    ActivationRefusedSerializer,
    CheckResultSerializer,
    CheckSerializer,
    DecisionSerializer,
    ModeSerializer,
    ReplayQuerySerializer,
    ReplayReportSerializer,
    SimulateSerializer,
    SimulationSerializer,
    VersionCreateSerializer,
    VersionSerializer,
)


def _readers_only(request):
    if not can_read_policies(request.user):
        raise PermissionDenied("Reading policies needs a portal role.")


def _security_admins_only(request):
    if not can_change_policies(request.user):
        raise PermissionDenied("Only security admins change policies.")


@extend_schema_view(
    list=extend_schema(summary="Policy versions (owners see the active one only)"),
    retrieve=extend_schema(summary="One policy version, by number", responses={200: VersionSerializer, 404: None}),
    create=extend_schema(
        summary="Save a new policy version (security admins); checked against the schema first",
        request=VersionCreateSerializer,
        responses={201: VersionSerializer, 400: OpenApiResponse(description="Text or examples are invalid."), 403: None},
    ),
)
@extend_schema(tags=["policy"])
class PolicyVersionViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = VersionSerializer
    parser_classes = [JSONParser]
    lookup_field = "number"
    lookup_value_converter = "int"

    def check_permissions(self, request):
        # Here rather than in the handlers, so a refused caller gets the same 403 whatever
        # query parameters they send (nhiportal/api.py TakesOnlyItsParameters).
        super().check_permissions(request)
        _readers_only(request)
        if self.action in ("create", "check", "activate", "mode"):
            _security_admins_only(request)
        elif self.action == "replay" and not reads_every_version(request.user):
            raise PermissionDenied("Replay shows every identity's decisions: reviewers, compliance and security admins only.")

    def get_queryset(self):
        return selectors.version_list(user=self.request.user)

    def get_object(self):
        return selectors.version_get(user=self.request.user, number=self.kwargs["number"])

    def create(self, request):
        serializer = VersionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = services.policy_version_create(actor=request.user, **serializer.validated_data)
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Check a policy set and its examples without saving anything (for a policy repository's CI)",
        request=CheckSerializer, responses={200: CheckResultSerializer, 400: None, 403: None},
    )
    @action(detail=False, methods=["post"])
    def check(self, request):
        """Validate against the schema and run the examples, as saving and activating would:
        200 with ok and the problems either way (400 only for a malformed request)."""
        serializer = CheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        problems = services.policy_check(**serializer.validated_data)
        return Response(CheckResultSerializer({"ok": not problems, "problems": problems}).data)

    @extend_schema(
        request=ActivateSerializer,
        responses={200: VersionSerializer, 403: None, 404: None, 409: ActivationRefusedSerializer},
    )
    @action(detail=True, methods=["post"])
    def activate(self, request, number=None):
        """Make this the active version: only when all its examples pass (409 otherwise)."""
        version = self.get_object()
        serializer = ActivateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            version = services.policy_version_activate(
                actor=request.user, version=version, confirm_deny_all=serializer.validated_data["confirm_deny_all"],
                reason=serializer.validated_data["reason"],
            )
        except services.ActivationRefused as refusal:
            body = {"detail": refusal.message, "needs_confirmation": refusal.needs_confirmation}
            return Response(ActivationRefusedSerializer(body).data, status=status.HTTP_409_CONFLICT)
        return Response(VersionSerializer(version).data)

    @extend_schema(parameters=[ReplayQuerySerializer], responses={200: ReplayReportSerializer, 400: None, 403: None, 404: None})
    @action(detail=True, methods=["get"])
    def replay(self, request, number=None):
        """Judge the last `limit` recorded decisions with this version; list those whose outcome
        would change (reviewers, compliance and security admins: it shows every identity's)."""
        version = self.get_object()
        query = ReplayQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = replay(compiled_version(version), limit=query.validated_data["limit"])
        return Response(ReplayReportSerializer(report).data)

    @extend_schema(request=ModeSerializer, responses={200: VersionSerializer, 400: None, 403: None, 404: None})
    @action(detail=True, methods=["post"])
    def mode(self, request, number=None):
        """Enforce this version's decisions, or only log what it would deny."""
        version = self.get_object()
        serializer = ModeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = services.policy_version_mode_set(actor=request.user, version=version, mode=serializer.validated_data["mode"])
        return Response(VersionSerializer(version).data)


@extend_schema_view(
    list=extend_schema(summary="Policy decisions about identities you may see, filtered like the decision log", parameters=[
        OpenApiParameter("since", OpenApiTypes.DATETIME, description=f"Decisions at or after this instant. {DAY_OR_INSTANT}"),
        OpenApiParameter("until", OpenApiTypes.DATETIME, description=f"Decisions before this instant. {DAY_OR_INSTANT}"),
    ]),
    retrieve=extend_schema(summary="One policy decision", responses={200: DecisionSerializer, 404: None}),
)
@extend_schema(tags=["policy"])
class PolicyDecisionViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = DecisionSerializer
    filterset_class = DecisionFilter
    lookup_value_converter = "int"  # anything else is no decision: 404, not a failed query

    def check_permissions(self, request):
        super().check_permissions(request)
        _readers_only(request)

    def get_queryset(self):
        return selectors.decision_list(user=self.request.user)

    def get_object(self):
        return selectors.decision_get(user=self.request.user, pk=self.kwargs["pk"])


@extend_schema(
    tags=["policy"],
    summary="What a version would decide for an identity, service and task (records nothing)",
    request=SimulateSerializer,
    responses={200: SimulationSerializer, 400: None, 403: None},
)
class SimulateView(TakesOnlyItsParameters, APIView):
    parser_classes = [JSONParser]

    def check_permissions(self, request):
        super().check_permissions(request)
        _readers_only(request)

    def post(self, request):
        serializer = SimulateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        # Unseen and unknown identities, services and versions get the same answer.
        identity = inventory_selectors.identity_list(user=request.user).filter(pk=data.pop("identity")).first()
        if identity is None:
            raise ValidationError({"identity": ["No identity you can see has that id."]})
        service = Service.objects.filter(pk=data.pop("service"), is_active=True).first()
        if service is None:
            raise ValidationError({"service": ["No active service has that id."]})
        number = data.pop("version")
        version = None
        if number is not None:
            version = selectors.version_list(user=request.user).filter(number=number).first()
            if version is None:
                raise ValidationError({"version": ["No version you can read has that number."]})
        simulation = simulate(identity=identity, service=service, version=version, **data)
        return Response(SimulationSerializer(simulation).data)
