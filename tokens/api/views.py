"""The token service's API: the same gate and service functions as the pages.

- services: everyone authenticated reads; security admins write (403 otherwise);
- grants, credentials, tasks: of the identities you may see (404 otherwise); grants are
  written by security admins, never to an identity they own (403 with the reason: a second
  person grants it, or decides its access request), credentials and task ends by the
  identity's owners too;
  a task's approval is decided by a reviewer or security admin who does not own it (403);
- delegations: of the identities you may see (either side); the lending identity's owners
  (or a security admin) create and end them;
- exposures: anyone signed in reports a leaked token or private key (it is revoked, or its
  credential disabled; the answer names no identity); the list shows the exposures of the identities you may see; security admins
  confirm one, which suspends its identity, or dismiss one (403 otherwise);
- source networks: those of the identities you may see;
- trust domains and signing keys: security admins only;
- access requests: you see those of the identities you may see, those on services you own
  and those you asked (404 otherwise); the identity's owners and security admins ask for its
  access (403 otherwise); an owner of the identity approves the first stage (automatic when an
  owner asks), then the service's owner, a reviewer or a security admin who neither asked nor
  owns the identity decides the second, whose approval makes the grant; the requester decides
  neither (403); the requester or a security admin cancels one that still waits (403 otherwise).
Refusals from the service functions are 400 with the reason keyed by field; a state that refuses
the action (decided already, dismissed, no longer waiting, ended) is a 409 with the reason.
"""

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.generics import ListAPIView
from rest_framework.views import APIView

from inventory import visibility
from inventory.models import Ownership
from inventory.selectors import identity_get
from nhiportal.api import JSONParser, TakesOnlyItsParameters, valid
from nhiportal.decisions import NoteSerializer, RefusalSerializer
from nhiportal.people.roles import is_reviewer, is_security_admin

from .. import selectors, services
from ..access_requests import (
    OWNER_STAGE,
    access_request_approve,
    access_request_cancel,
    access_request_create,
    access_request_reject,
    may_cancel,
    may_decide,
    may_request,
    stage_of,
)
from ..activity import daily_activity
from ..blast_radius import blast_radius
from ..approvals import APPROVERS, task_approve, task_reject
from ..credentials import credential_add_federated, credential_add_jwk, credential_add_spiffe, credential_disable
from ..delegations import ENDERS, delegation_create, delegation_revoke
from ..distrust import trust_end, trust_restore
from ..exposures import CONFIRMERS, exposure_confirm, exposure_dismiss, exposure_report_token, may_confirm
from ..filters import (
    AccessRequestWindowFilter,
    CredentialWindowFilter,
    DelegationWindowFilter,
    ExposureWindowFilter,
    GrantWindowFilter,
    TaskApiFilter,
)
from ..keys import signing_key_compromised, signing_keys_rotate
from ..models import AccessRequest, Grant, IssuedToken, KeyState, Service, SigningKey, TrustDomain, WorkloadCredential
from ..emergency import revoke_in_emergency
from ..revocation import task_end
from ..trust_bundles import bundle_refresh
from ..usage import with_uses
from .serializers import (
    BlastRadiusSerializer,
    ActivityDaySerializer,
    EmergencyRevokeSerializer,
    RevokedSerializer,
    AccessRequestQuerySerializer,
    AccessRequestSerializer,
    ApprovalSerializer,
    DelegationSerializer,
    ExposureSerializer,
    TokenExposureSerializer,
    UnusedIdentitySerializer,
    CredentialCreateSerializer,
    CredentialQuerySerializer,
    CredentialSerializer,
    ExposureQuerySerializer,
    GrantQuerySerializer,
    GrantReduceSerializer,
    GrantSerializer,
    UnusedGrantSerializer,
    OptionalReasonSerializer,
    ReasonSerializer,
    RotateSerializer,
    ServiceSerializer,
    SigningKeySerializer,
    TaskQuerySerializer,
    TaskSerializer,
    TrustDomainDistrustedSerializer,
    TrustDomainSerializer,
    TrustDomainUpdateSerializer,
)


# Who may act is asked in DRF's own checks (check_permissions; check_object_permissions, after
# the lookup's 404), which run before a query parameter is read (TakesOnlyItsParameters): a
# refused caller gets the same 403 with or without one. A refusal that needs the body (the
# identity it names) stays in the operation.


def _require_security_admin(request):
    if not is_security_admin(request.user):
        raise PermissionDenied("Only security admins change this.")


def _changeable_identity(request, pk):
    identity = identity_get(user=request.user, pk=pk)
    if not visibility.can(request.user, visibility.CHANGE, identity):
        raise PermissionDenied("Your role can read this identity but not change it.")
    return identity


# The 409s of operations a state can refuse (the body is `Error`: nhiportal/api.py).
_TASK_DECIDED = OpenApiResponse(description="The task no longer waits for a person (approved, rejected or ended meanwhile), or its identity is not active.")
_EXPOSURE_CLOSED = OpenApiResponse(description="The exposure was confirmed or dismissed already.")
_CREDENTIAL_REFUSED = OpenApiResponse(description="The identity is offboarded, or the trust domain or issuer named is no longer trusted.")
_REQUEST_DECIDED = OpenApiResponse(
    description="The request no longer waits (its state says why), or another owner approved its first stage meanwhile."
)


def _why_not_decider(user, access_request) -> str:
    """Why this person decides no stage of a waiting request, in their case (may_decide's rules)."""
    if user.pk == access_request.requested_by_id:
        return "The requester decides no stage of their own request: another owner of the identity, then the service's reviewer, do."
    if stage_of(access_request) == OWNER_STAGE:
        return "This request waits for an owner of the identity to vouch for it (its first stage); you are not one of its owners."
    if Ownership.objects.filter(identity_id=access_request.identity_id, person=user).exists():
        return ("You own the identity: its owners decide the first stage only. The service's owner, a reviewer or a security admin "
                "who does not own the identity decides this one.")
    if not (is_reviewer(user) or is_security_admin(user)):
        return "Your role decides no access request here: the service's owner, a reviewer or a security admin decides this stage."
    return "The service's owner, a reviewer or a security admin who does not own the identity decides this stage."


@extend_schema(tags=["services"])
class ServiceViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ServiceSerializer
    parser_classes = [JSONParser]
    queryset = Service.objects.select_related("owner").prefetch_related("scopes").order_by("name")

    def check_permissions(self, request):
        super().check_permissions(request)
        if self.action in ("create", "partial_update"):  # everyone reads
            _require_security_admin(request)

    def create(self, request):
        data = dict(valid(ServiceSerializer, request.data))
        data.pop("is_active", None)
        data.pop("reason", None)  # a new service ends nobody's access
        service = services.service_create(actor=request.user, **data)
        return Response(ServiceSerializer(service).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        service = self.get_object()
        # Partial: only the fields sent are changed (scopes, if sent, replace the list).
        data = dict(valid(ServiceSerializer, request.data, partial=True))
        # Always a person's request: deactivating it or removing scopes without a reason is a 400 on `reason`.
        reason = data.pop("reason", "")
        service = services.service_update(actor=request.user, service=service, reason=reason, **data)
        return Response(ServiceSerializer(self.get_queryset().get(pk=service.pk)).data)


class KeysRefreshMixin:
    """POST <id>/refresh/ for a holder of keys fetched from where they are published
    (tokens/trust_bundles.py): a trust domain or a federated issuer."""

    pasted = "Its keys are pasted by hand, with no endpoint to fetch them from: replace them instead."

    @extend_schema(request=None, summary="Fetch the keys from where they are published now (409 when they are pasted by hand)")
    @action(detail=True, methods=["post"])
    def refresh(self, request, pk=None):
        held = self.get_object()
        if not held.bundle_endpoint:
            return Response({"detail": self.pasted}, status=status.HTTP_409_CONFLICT)
        outcome = bundle_refresh(actor=request.user, holder=held)
        data = self.get_serializer(type(held).objects.get(pk=held.pk)).data
        if outcome == "failed":  # the endpoint's fault, not the caller's: the keys held stay in use
            return Response({"detail": data["bundle_error"], **data}, status=status.HTTP_502_BAD_GATEWAY)
        return Response(data)


class TrustChangeMixin:
    """POST <id>/distrust/ and <id>/trust/ for a trust domain or a federated issuer (tokens/distrust.py)."""

    @extend_schema(request=ReasonSerializer, summary="Stop trusting it: its tokens are refused, its credentials disabled")
    @action(detail=True, methods=["post"])
    def distrust(self, request, pk=None):
        reason = valid(ReasonSerializer, request.data)["reason"]
        held = trust_end(actor=request.user, holder=self.get_object(), reason=reason)
        data = self.get_serializer(held).data
        return Response({**data, "credentials_disabled": held.credentials_disabled, "tokens_revoked": held.tokens_revoked})

    @extend_schema(request=ReasonSerializer, summary="Trust it again, for credentials added from now on")
    @action(detail=True, methods=["post"])
    def trust(self, request, pk=None):
        reason = valid(ReasonSerializer, request.data)["reason"]
        return Response(self.get_serializer(trust_restore(actor=request.user, holder=self.get_object(), reason=reason)).data)


def keys_holder_schema(serializer, distrusted):
    """The answers of refresh/ and distrust/ (KeysRefreshMixin, TrustChangeMixin) for one kind of holder."""
    return extend_schema_view(
        refresh=extend_schema(responses={
            200: serializer,
            409: OpenApiResponse(description="Its keys are pasted by hand: there is no endpoint to fetch them from."),
            502: OpenApiResponse(description="The endpoint failed (`detail` says how, beside the holder's fields); the keys held stay in use."),
        }),
        distrust=extend_schema(responses={200: distrusted, 409: OpenApiResponse(description="It is not trusted already.")}),
        trust=extend_schema(responses={200: serializer, 409: OpenApiResponse(description="It is trusted already.")}),
    )


@keys_holder_schema(TrustDomainSerializer, TrustDomainDistrustedSerializer)
@extend_schema(tags=["services"])
class TrustDomainViewSet(TakesOnlyItsParameters, TrustChangeMixin, KeysRefreshMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TrustDomainSerializer
    parser_classes = [JSONParser]
    queryset = TrustDomain.objects.order_by("name")

    def check_permissions(self, request):
        super().check_permissions(request)
        _require_security_admin(request)

    def create(self, request):
        data = valid(TrustDomainSerializer, request.data)
        domain = services.trust_domain_create(
            actor=request.user, name=data["name"], jwks=data.get("jwks"), bundle_endpoint=data.get("bundle_endpoint", ""),
        )
        return Response(TrustDomainSerializer(domain).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TrustDomainUpdateSerializer)
    def partial_update(self, request, pk=None):
        data = valid(TrustDomainUpdateSerializer, request.data)
        domain = services.trust_domain_update(
            actor=request.user, trust_domain=self.get_object(), jwks=data.get("jwks"), bundle_endpoint=data.get("bundle_endpoint"),
        )
        return Response(TrustDomainSerializer(domain).data)

    pasted = "This trust domain has no bundle endpoint: replace its bundle instead."


@extend_schema(tags=["grants"])
class GrantViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = GrantSerializer
    parser_classes = [JSONParser]
    filterset_class = GrantWindowFilter

    def get_queryset(self):
        query = valid(GrantQuerySerializer, self.request.query_params) if self.action == "list" else {}
        grants = selectors.grant_list(user=self.request.user, state=query.get("state", ""))
        if query.get("identity"):
            grants = grants.filter(identity_id=query["identity"])
        return grants.select_related("granted_by")

    def check_permissions(self, request):
        super().check_permissions(request)
        if self.action == "create":
            _require_security_admin(request)

    def check_object_permissions(self, request, grant):
        super().check_object_permissions(request, grant)
        if self.action == "reduce" and not visibility.can(request.user, visibility.CHANGE, grant.identity):
            raise PermissionDenied("Only the identity's owners and security admins change its grants.")
        if self.action == "revoke":
            _require_security_admin(request)

    @extend_schema(parameters=[GrantQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={201: GrantSerializer, 403: OpenApiResponse(description=(
        "Not a security admin, or the identity is one you own (primary or backup): a grant to it needs a second "
        "person, another security admin, or an access request (access-requests/) that someone else decides."
    )), 409: OpenApiResponse(description="The identity is offboarded: it receives no grant.")})
    def create(self, request):
        """Grant an identity some of a service's scopes (security admins; never to an identity they own)."""
        data = valid(GrantSerializer, request.data)
        identity = identity_get(user=request.user, pk=data["identity_id"])
        service = get_object_or_404(Service, pk=data["service_id"])
        grant = services.grant_create(
            actor=request.user, identity=identity, service=service, scopes=data["scopes"], ends_at=data["ends_at"],
            justification=data["justification"], starts_at=data.get("starts_at"),
        )
        return Response(GrantSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=UnusedGrantSerializer(many=True))
    @action(detail=False, methods=["get"], filter_backends=[])
    def unused(self, request):
        """Live grants with a scope no token carried in the last NHI_UNUSED_ACCESS_DAYS days, as the
        hourly grant_usage step last found, oldest first."""
        page = with_uses(self.paginate_queryset(selectors.unused_grant_list(user=request.user).select_related("granted_by")))
        return self.get_paginated_response(UnusedGrantSerializer(page, many=True).data)

    @extend_schema(request=GrantReduceSerializer, responses={
        200: GrantSerializer, 409: OpenApiResponse(description="The grant has ended (revoked or run out): it holds nothing to take away."),
    })
    @action(detail=True, methods=["post"])
    def reduce(self, request, pk=None):
        """Take scopes off a live grant (its identity's owners and security admins); tokens that carry them are revoked."""
        grant = self.get_object()
        data = valid(GrantReduceSerializer, request.data)
        grant = services.grant_reduce(actor=request.user, grant=grant, remove=data["scopes"], reason=data["reason"])
        return Response(GrantSerializer(Grant.objects.select_related("service", "granted_by").get(pk=grant.pk)).data)

    @extend_schema(request=ReasonSerializer, responses=GrantSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        grant = self.get_object()
        data = valid(ReasonSerializer, request.data)
        grant = services.grant_revoke(actor=request.user, grant=grant, reason=data["reason"])
        return Response(GrantSerializer(Grant.objects.select_related("service", "granted_by").get(pk=grant.pk)).data)


@extend_schema(tags=["credentials"])
class CredentialViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Workload credentials of the identities you may see; ?identity=<uuid> narrows the list."""

    serializer_class = CredentialSerializer
    parser_classes = [JSONParser]
    filterset_class = CredentialWindowFilter

    def get_queryset(self):
        query = valid(CredentialQuerySerializer, self.request.query_params) if self.action == "list" else {}
        credentials = WorkloadCredential.objects.filter(identity__in=selectors.visible_identities(self.request.user))
        if query.get("identity"):
            credentials = credentials.filter(identity_id=query["identity"])
        return credentials.select_related("federated_issuer").order_by("-created_at")

    def check_object_permissions(self, request, credential):
        super().check_object_permissions(request, credential)
        if self.action == "disable":
            _changeable_identity(request, credential.identity_id)

    @extend_schema(parameters=[CredentialQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CredentialCreateSerializer, responses={201: CredentialSerializer, 409: _CREDENTIAL_REFUSED})
    def create(self, request):
        data = valid(CredentialCreateSerializer, request.data)
        identity = _changeable_identity(request, data["identity"])
        if "jwk" in data:
            credential = credential_add_jwk(actor=request.user, identity=identity, jwk=data["jwk"], label=data["label"])
        elif "subject" in data:
            credential = credential_add_federated(
                actor=request.user, identity=identity, federated_issuer=data["federated_issuer"], subject=data["subject"],
                required_claims=data.get("required_claims"), label=data["label"],
            )
        else:
            credential = credential_add_spiffe(actor=request.user, identity=identity, spiffe_id=data["spiffe_id"], label=data["label"])
        return Response(CredentialSerializer(credential).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OptionalReasonSerializer, responses=CredentialSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        credential = self.get_object()
        reason = valid(OptionalReasonSerializer, request.data)["reason"]
        credential = credential_disable(actor=request.user, credential=credential, reason=reason)
        return Response(CredentialSerializer(credential).data)


@extend_schema(tags=["tasks"])
class TaskViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tasks and their tokens (never the token itself) of the identities you may see."""

    serializer_class = TaskSerializer
    parser_classes = [JSONParser]
    filterset_class = TaskApiFilter
    lookup_value_converter = "uuid"

    def get_queryset(self):
        query = valid(TaskQuerySerializer, self.request.query_params) if self.action == "list" else {}
        # The tasks list's rows (tokens/task_views.py), through the same gate, with its filters.
        tasks = selectors.task_list(user=self.request.user)
        if query.get("identity"):
            tasks = tasks.filter(identity_id=query["identity"])
        # Whenever sent (a query's boolean left out reads as false): true, not ended yet; false, ended.
        if "open" in query and "open" in self.request.query_params:
            tasks = tasks.filter(ended_at__isnull=query["open"])
        if query.get("approval") == "pending":
            tasks = selectors.waiting_for_approval(tasks)
        tokens = IssuedToken.objects.select_related("parent").order_by("-issued_at")
        return tasks.prefetch_related(Prefetch("tokens", queryset=tokens))

    def check_object_permissions(self, request, task):
        super().check_object_permissions(request, task)
        if self.action == "end":
            _changeable_identity(request, task.identity_id)
        elif self.action in ("approve", "reject") and not visibility.can(request.user, visibility.APPROVE, task.identity):
            # Asked again by the service, under the identity's lock.
            raise PermissionDenied(APPROVERS)

    @extend_schema(parameters=[TaskQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=OptionalReasonSerializer, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        task = self.get_object()
        reason = valid(OptionalReasonSerializer, request.data)["reason"] or "Ended through the API."
        task_end(task=task, actor=request.user, reason=reason)
        return Response(TaskSerializer(self.get_queryset().get(pk=task.pk)).data)

    @extend_schema(request=ApprovalSerializer, responses={200: TaskSerializer, 409: _TASK_DECIDED})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve a task waiting for a person, for `minutes`."""
        task = self.get_object()
        data = valid(ApprovalSerializer, request.data)
        task_approve(actor=request.user, task=task, minutes=data["minutes"], reason=data["reason"])
        return Response(TaskSerializer(self.get_queryset().get(pk=task.pk)).data)

    @extend_schema(request=ReasonSerializer, responses={200: TaskSerializer, 409: _TASK_DECIDED})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Refuse a task waiting for a person: it ends."""
        task = self.get_object()
        task_reject(actor=request.user, task=task, reason=valid(ReasonSerializer, request.data)["reason"])
        return Response(TaskSerializer(self.get_queryset().get(pk=task.pk)).data)


@extend_schema(tags=["delegations"])
class DelegationViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Which identities may act for which (token exchange of another identity's token)."""

    serializer_class = DelegationSerializer
    parser_classes = [JSONParser]
    filterset_class = DelegationWindowFilter

    def get_queryset(self):
        return selectors.delegation_list(user=self.request.user)

    def check_object_permissions(self, request, delegation):
        super().check_object_permissions(request, delegation)
        if self.action == "revoke" and not visibility.can(request.user, visibility.CHANGE, delegation.principal):
            raise PermissionDenied(ENDERS)

    def create(self, request):
        data = valid(DelegationSerializer, request.data)
        principal = identity_get(user=request.user, pk=data["principal_id"])
        delegation = delegation_create(actor=request.user, principal=principal, delegate_id=data["delegate_id"], reason=data["reason"])
        return Response(DelegationSerializer(delegation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OptionalReasonSerializer, responses=DelegationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """End it: the sub-tasks the delegate opened under it end (no joining them by task_id) and every token in them, or exchanged from the principal's, is revoked."""
        delegation = self.get_object()
        reason = valid(OptionalReasonSerializer, request.data)["reason"]
        delegation_revoke(actor=request.user, delegation=delegation, reason=reason)
        return Response(DelegationSerializer(self.get_queryset().get(pk=delegation.pk)).data)


@extend_schema(tags=["exposures"])
class ExposureViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Leaked tokens and keys, and how long they were out."""

    serializer_class = ExposureSerializer
    lookup_value_converter = "int"
    parser_classes = [JSONParser]
    filterset_class = ExposureWindowFilter

    def check_permissions(self, request):
        super().check_permissions(request)
        if self.action in ("confirm", "dismiss") and not may_confirm(request.user):
            raise PermissionDenied(CONFIRMERS[self.action])

    def get_queryset(self):
        query = valid(ExposureQuerySerializer, self.request.query_params) if self.action == "list" else {}
        return selectors.exposure_list(user=self.request.user, state=query.get("state", ""))

    @extend_schema(parameters=[ExposureQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=TokenExposureSerializer, responses={201: TokenExposureSerializer})
    @sensitive_variables("data")  # the pasted token or key
    def create(self, request):
        """Report a leaked access token (revoked at once, with what was exchanged from it) or an
        agent's private key (its credential disabled); the answer names no identity."""
        data = valid(TokenExposureSerializer, request.data)
        exposure = exposure_report_token(actor=request.user, **data)
        return Response(TokenExposureSerializer(exposure).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses={200: ExposureSerializer, 409: _EXPOSURE_CLOSED})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """Confirm the exposure is real: its identity is suspended, revoking what it still holds."""
        exposure = self.get_object()
        exposure_confirm(actor=request.user, exposure=exposure, reason=valid(ReasonSerializer, request.data)["reason"])
        return Response(ExposureSerializer(self.get_queryset().get(pk=exposure.pk)).data)

    @extend_schema(request=ReasonSerializer, responses={200: ExposureSerializer, 409: _EXPOSURE_CLOSED})
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        """Close the report without suspending (a false alarm, or handled already); what it revoked stays revoked."""
        exposure = self.get_object()
        exposure_dismiss(actor=request.user, exposure=exposure, reason=valid(ReasonSerializer, request.data)["reason"])
        return Response(ExposureSerializer(self.get_queryset().get(pk=exposure.pk)).data)


@extend_schema(tags=["access requests"])
class AccessRequestViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """An identity asks for scopes on a service until a date; an owner, then the service's reviewer decide."""

    serializer_class = AccessRequestSerializer
    lookup_value_converter = "int"
    parser_classes = [JSONParser]
    filterset_class = AccessRequestWindowFilter

    def get_queryset(self):
        query = valid(AccessRequestQuerySerializer, self.request.query_params) if self.action == "list" else {}
        return selectors.access_request_list(user=self.request.user, view=query.get("view", "all"), state=query.get("state", ""))

    def _gated(self):
        try:
            return selectors.access_request_get(user=self.request.user, pk=self.kwargs["pk"])
        except AccessRequest.DoesNotExist:
            raise Http404 from None

    def get_object(self):
        access_request = self._gated()
        self.check_object_permissions(self.request, access_request)
        return access_request

    def check_object_permissions(self, request, access_request):
        # A request that no longer waits is left to the service function, which answers 409
        # with its state; may_decide and may_cancel are False for it and would make that a
        # misleading 403.
        super().check_object_permissions(request, access_request)
        if not access_request.is_pending:
            return
        if self.action in ("approve", "reject") and not may_decide(request.user, access_request):
            raise PermissionDenied(_why_not_decider(request.user, access_request))
        if self.action == "cancel" and not may_cancel(request.user, access_request):
            raise PermissionDenied("Only the requester or a security admin cancels a request.")

    def _shown(self):
        # Read back through the gate alone, not get_object's checks: after an owner approves
        # its first stage the request still waits, at a stage they do not decide.
        return Response(AccessRequestSerializer(self._gated()).data)

    @extend_schema(parameters=[AccessRequestQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={201: AccessRequestSerializer})
    def create(self, request):
        """Ask for access for an identity you own (or any, as a security admin)."""
        data = valid(AccessRequestSerializer, request.data)
        identity = identity_get(user=request.user, pk=data["identity_id"])
        service = get_object_or_404(Service, pk=data["service_id"])
        # The service function checks this too; here, so the refusal reaches the client with its reason.
        if not may_request(request.user, identity):
            raise PermissionDenied("Only the identity's owners or a security admin ask for its access.")
        access_request = access_request_create(
            actor=request.user, identity=identity, service=service, scopes=data["scopes"], ends_at=data["ends_at"],
            justification=data["justification"],
        )
        return Response(AccessRequestSerializer(access_request).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=NoteSerializer, responses={200: AccessRequestSerializer, 409: _REQUEST_DECIDED})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve the stage it waits at: the owner stage hands it to the service's reviewer; the service stage makes the grant."""
        access_request = self.get_object()
        reason = valid(NoteSerializer, request.data)["reason"]
        access_request_approve(actor=request.user, access_request=access_request, reason=reason)
        return self._shown()

    @extend_schema(request=RefusalSerializer, responses={200: AccessRequestSerializer, 409: _REQUEST_DECIDED})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Refuse it at the stage it waits at, with the reason the requester will read."""
        access_request = self.get_object()
        reason = valid(RefusalSerializer, request.data)["reason"]
        access_request_reject(actor=request.user, access_request=access_request, reason=reason)
        return self._shown()

    @extend_schema(request=NoteSerializer, responses={200: AccessRequestSerializer, 409: _REQUEST_DECIDED})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Withdraw a request that still waits (its requester or a security admin)."""
        access_request = self.get_object()
        reason = valid(NoteSerializer, request.data)["reason"]
        access_request_cancel(actor=request.user, access_request=access_request, reason=reason)
        return self._shown()


@extend_schema(tags=["signing keys"])
class SigningKeyViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = SigningKeySerializer
    lookup_field = "kid"
    parser_classes = [JSONParser]
    queryset = SigningKey.objects.none()  # for the schema; list() reads the keys in display order

    def list(self, request):
        """The portal's signing keys, paged like every list (the JWKS, /oauth/jwks.json, is the
        unpaged, standard list of the published ones)."""
        page = self.paginate_queryset(selectors.signing_keys())
        return self.get_paginated_response(SigningKeySerializer(page, many=True).data)

    def check_permissions(self, request):
        super().check_permissions(request)
        _require_security_admin(request)

    def get_object(self):
        return get_object_or_404(SigningKey.objects.exclude(state=KeyState.RETIRED), kid=self.kwargs["kid"])

    @extend_schema(request=RotateSerializer, responses=SigningKeySerializer)
    @action(detail=False, methods=["post"])
    def rotate(self, request):
        alg = valid(RotateSerializer, request.data).get("alg")
        key = signing_keys_rotate(actor=request.user, alg=alg)
        return Response(SigningKeySerializer(key).data)

    @extend_schema(request=ReasonSerializer, responses=RevokedSerializer)
    @action(detail=True, methods=["post"])
    def compromised(self, request, kid=None):
        """The key's private part leaked: unpublish it and revoke the live tokens it signed."""
        key = self.get_object()
        reason = valid(ReasonSerializer, request.data)["reason"]
        return Response({"tokens_revoked": signing_key_compromised(actor=request.user, key=key, reason=reason)})


@extend_schema(tags=["identities"], responses=ActivityDaySerializer(many=True))
class IdentityActivity(TakesOnlyItsParameters, APIView):
    """GET: the identity's tokens issued and requests refused per day, the last 14 days (UTC),
    oldest first: the identity page's activity chart, for the identities you may see."""

    def get_object(self):
        return identity_get(user=self.request.user, pk=self.kwargs["pk"])

    def get(self, request, pk):
        return Response(ActivityDaySerializer(daily_activity(self.get_object()), many=True).data)


@extend_schema(tags=["identities"], responses=BlastRadiusSerializer)
class IdentityBlastRadius(TakesOnlyItsParameters, APIView):
    """GET: what a copy of the identity's key would reach now (tokens/blast_radius.py): its live
    grants, from where, how fast and for how long; for the identities you may see."""

    def get_object(self):
        return identity_get(user=self.request.user, pk=self.kwargs["pk"])

    def get(self, request, pk):
        return Response(BlastRadiusSerializer(blast_radius(self.get_object())).data)


@extend_schema(tags=["identities"])
class UnusedIdentityList(TakesOnlyItsParameters, ListAPIView):
    """Active identities you may see that obtained no token in the last NHI_UNUSED_ACCESS_DAYS
    days though active all that time, idle longest first. Read live from the token ledger."""

    serializer_class = UnusedIdentitySerializer

    def get_queryset(self):
        return selectors.unused_identity_list(user=self.request.user)


@extend_schema(tags=["signing keys"], request=EmergencyRevokeSerializer, responses=RevokedSerializer)
class EmergencyRevoke(TakesOnlyItsParameters, APIView):
    """POST: revoke every live token of one `service`, or of every service with `all: true`
    (security admins); neither is a 400, never everything by default."""

    parser_classes = [JSONParser]

    def check_permissions(self, request):
        super().check_permissions(request)
        _require_security_admin(request)

    def post(self, request):
        data = valid(EmergencyRevokeSerializer, request.data)
        revoked = revoke_in_emergency(actor=request.user, reason=data["reason"], service=data["service"])
        return Response({"tokens_revoked": revoked.tokens})
