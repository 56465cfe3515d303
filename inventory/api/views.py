"""The identities API: the same gate, filters and service functions as the pages.

Answers a client can act on:
- 404: no such identity, or one you may not see (an outsider learns nothing);
- 403: you can see it but your role is read-only, or you may not register identities;
- 400: a field is invalid; the reason is keyed by the field's name (naming as primary or backup
  owner someone without the owner or security admin role included: the reason names their role);
- 409: the request conflicts with the identity's current state: it changed since the
  `version` you sent, or the lifecycle action cannot happen from its status. A refused
  activation is a 409 with {"detail": ..., "missing": [...]}: the request itself was well
  formed, and the same request succeeds once the identity has what is missing.

Ownership claims (/api/v1/claims/), the rules of inventory/claims.py:
- an orphaned identity is one that is not offboarded and none of whose owners is an active
  person; GET claims/orphaned/ lists them (what identifies one, nothing it holds) for the
  people who may claim them or read everything, and is a 403 for anyone else;
- owners and security admins claim an orphan, saying why (403 for reviewers, compliance and
  people without a role, who may not be made owners, asked before anything else; 404 for an
  identity that is not orphaned, or not any more; 400 for a missing reason or a second
  waiting claim of yours);
- you see the claims you made; reviewers, compliance and security admins see them all
  (404 otherwise); view=waiting lists those waiting for your decision, oldest first;
- a reviewer or security admin who is not the claimant approves (the claimant becomes the
  primary owner, the former owners stay on as backups) or rejects with a reason (403 for
  anyone else, the claimant included); the claimant alone withdraws a claim (cancel, 403
  otherwise); a claim that no longer waits is a 409 with its state, as is approving one whose
  claimant has lost the owner role since (the reason names them).

Attestation campaigns (/api/v1/campaigns/), the rules of inventory/campaigns.py:
- reviewers, compliance and security admins see every campaign; an owner sees those that ask
  about an identity they own, and of each only the items of those identities; any other
  campaign is a 404 (the list is empty for someone with no role);
- total, attested and progress count all of a campaign's identities, as the page does;
  items/?state=all|waiting|attested lists the identities you may see, with who attested;
- reviewers and security admins launch (403 for anyone else, asked before anything else;
  400 keyed by field: a blank name, a due date not after today or more than a year away, a
  scope without an active or suspended identity) and close (403 for anyone else; 409 if it
  is closed already);
- owners answer with the identity's ordinary attestation (POST identities/{id}/attest/),
  which answers every open campaign item of that identity.
"""

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.response import Response

from inventory import campaigns, claims, selectors, services, visibility
from inventory.filters import CampaignWindowFilter, ClaimWindowFilter, IdentityFilter
from inventory.forms import SECURITY_ADMIN_FIELDS
from inventory.imports import MAX_BYTES, ImportRefused, identities_import
from inventory.models import Campaign, ClaimState, Ownership, OwnershipClaim, Sensitivity
from inventory.selectors import identity_list, identity_owners, is_owner_of, may_register, with_attention_flags
from nhiportal.api import Conflict, FilterBackend, JSONParser, TakesOnlyItsParameters, valid
from nhiportal.audit.api.serializers import AuditEventSerializer
from nhiportal.audit.filters import EventWindowFilter
from nhiportal.audit.selectors import events_for_identity
from nhiportal.conf import nhi_setting
from nhiportal.decisions import NoteSerializer, RefusalSerializer
from nhiportal.people.roles import is_security_admin, sees_everything

from .serializers import (
    CampaignDetailSerializer,
    CampaignItemQuerySerializer,
    CampaignItemSerializer,
    CampaignSerializer,
    ClaimQuerySerializer,
    ClaimSerializer,
    ConflictSerializer,
    IdentityCreateSerializer,
    IdentitySerializer,
    IdentityUpdateSerializer,
    ImportProblemsSerializer,
    ImportResultSerializer,
    ImportUploadSerializer,
    LifecycleSerializer,
    OrphanSerializer,
    OwnerSerializer,
    OwnersOutputSerializer,
    OwnersSerializer,
    primary_first,
)


CSV_BODY = "csv body"  # a key no multipart field is likely to use


class CSVParser(BaseParser):
    """A CSV body, kept as bytes for inventory/imports.py (which decodes and parses it)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        # One byte past the import's limit is enough to refuse it: never hold a huge body.
        return {CSV_BODY: stream.read(MAX_BYTES + 1) if stream else b""}


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


def _import_refused(reason: str) -> Response:
    # The import's one 400 body (ImportProblemsSerializer), whatever it refused.
    return Response({"detail": reason, "problems": []}, status=status.HTTP_400_BAD_REQUEST)


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
# The identity actions that change it: those its CHANGE visibility allows (attest is the owners').
_CHANGES = frozenset({"update", "partial_update", "activate", "suspend", "reactivate", "offboard"})


@extend_schema_view(
    list=extend_schema(
        summary="List the identities you may see, filtered like the inventory page",
        # The page's filter offers "Any" as an empty choice; the API takes a level or no filter.
        parameters=[OpenApiParameter(
            "sensitivity", int, enum=Sensitivity.values,
            description="The sensitivity ceiling: " + ", ".join(f"{value} {label.lower()}" for value, label in Sensitivity.choices) + ".",
        )],
    ),
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
class IdentityViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
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
        identity = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, identity)
        return identity

    # Who may act is asked in DRF's own checks, which run before a query parameter is read
    # (TakesOnlyItsParameters): a refused caller gets the same 403 with or without one.
    def check_permissions(self, request):
        super().check_permissions(request)
        if self.action in ("create", "import_csv") and not may_register(request.user):
            raise PermissionDenied("Registering identities needs the owner or security admin role.")

    def check_object_permissions(self, request, identity):
        # After the lookup (get_object): one who may not see the identity gets its 404 first.
        super().check_object_permissions(request, identity)
        if self.action == "attest":
            if not is_owner_of(request.user, identity.ownerships.all()):
                raise PermissionDenied("Only the identity's owners attest it.")
        elif self.action in _CHANGES or (self.action == "owners" and request.method == "PUT"):
            if not visibility.can(request.user, visibility.CHANGE, identity):
                raise PermissionDenied("Your role can read this identity but not change it.")

    def _shown(self, identity, status_code=status.HTTP_200_OK):
        # Read back through the gate for the annotations the output shows.
        return Response(IdentitySerializer(self.get_queryset().get(pk=identity.pk)).data, status=status_code)

    def _check_admin_fields(self, fields: dict, current: dict) -> None:
        # Lengthening the attestation interval or raising the token rate limit weakens a
        # control: security admins only, as on the pages.
        if is_security_admin(self.request.user):
            return
        for name, what in SECURITY_ADMIN_FIELDS.items():
            if fields.get(name, current[name]) != current[name]:
                raise ValidationError({name: [f"Only security admins change {what}."]})

    def create(self, request):
        user = request.user
        serializer = IdentityCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        primary = fields.pop("primary_owner", user)
        backups = fields.pop("backup_owners", [])
        if primary != user and not is_security_admin(user):
            # As on the register page: you register what you answer for; handing it over is a change of owners.
            raise ValidationError({"primary_owner": ["Name yourself as primary owner; add others as backups."]})
        self._check_admin_fields(fields, {"attestation_interval_days": nhi_setting("ATTESTATION_INTERVAL_DAYS"), "token_rate_per_minute": None})
        identity = services.identity_register(actor=user, primary_owner=primary, backup_owners=backups, **fields)
        return self._shown(identity, status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        identity = self.get_object()
        serializer = IdentityUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "version" not in changes:
            raise ValidationError({"version": ["Send the version you last read, so a concurrent edit is not overwritten."]})
        version = changes.pop("version")
        self._check_admin_fields(changes, {name: getattr(identity, name) for name in SECURITY_ADMIN_FIELDS})
        identity = _apply(
            lambda: services.identity_update(actor=request.user, identity=identity, expected_version=version, **changes)
        )
        return self._shown(identity)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def _lifecycle(self, request, transition):
        identity = self.get_object()
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

    @extend_schema(
        summary="Register many identities from CSV, all or none (owners and security admins)",
        description=(
            "The body is the CSV itself (`Content-Type: text/csv`) or a multipart form with `file`; "
            "the columns and rules are the import page's. 201 lists what was registered; 400 names "
            "each problem's `line` and `column`, and nothing is registered."
        ),
        request={"text/csv": OpenApiTypes.STR, "multipart/form-data": ImportUploadSerializer},
        responses={201: ImportResultSerializer, 400: ImportProblemsSerializer, 403: None},
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[CSVParser, MultiPartParser])
    def import_csv(self, request):
        upload = request.data.get("file")
        content = upload.read(MAX_BYTES + 1) if hasattr(upload, "read") else request.data.get(CSV_BODY)
        if not isinstance(content, bytes):  # a multipart form without its file
            return _import_refused("Send the CSV as the body (text/csv) or as a multipart file named file.")
        try:
            outcome = identities_import(actor=request.user, content=content)
        except ImportRefused as refusal:
            return _import_refused(str(refusal))
        if outcome.problems:
            problems = [{"line": p.line, "column": p.column, "message": p.message} for p in outcome.problems]
            return Response({"detail": "Nothing was imported.", "problems": problems}, status=status.HTTP_400_BAD_REQUEST)
        registered = [{"id": str(i.pk), "name": i.name} for i in outcome.registered]
        return Response({"registered": registered}, status=status.HTTP_201_CREATED)

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
        return self._lifecycle(request, _attest)

    @extend_schema(methods=["GET"], summary="The identity's owners", responses={200: OwnersOutputSerializer, 404: None})
    @extend_schema(
        methods=["PUT"],
        summary="Replace the identity's owners: one primary, any backups",
        request=OwnersSerializer,
        responses={**_WRITE_RESPONSES, 200: OwnersOutputSerializer},
    )
    @action(detail=True, methods=["get", "put"], filter_backends=[])
    def owners(self, request, pk=None):
        identity = self.get_object()  # to replace them, one who may change it (check_object_permissions)
        if request.method == "PUT":
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
    @action(detail=True, methods=["get"], filter_backends=[FilterBackend], filterset_class=EventWindowFilter)
    def history(self, request, pk=None):
        identity = self.get_object()
        page = self.paginate_queryset(self.filter_queryset(events_for_identity(identity.pk)))
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)


_CLAIM_DECISION_RESPONSES = {
    200: ClaimSerializer,
    400: OpenApiResponse(description="The reason is missing or too long."),
    403: OpenApiResponse(description="Someone else decides or withdraws this claim."),
    404: OpenApiResponse(description="No such claim, or one you may not see."),
    409: OpenApiResponse(description="The claim no longer waits (its state says why), or, to approve, the identity has an "
                         "active owner again or its claimant may no longer be made an owner (the reason names them)."),
}


@extend_schema_view(
    list=extend_schema(summary="List the ownership claims you may see", parameters=[ClaimQuerySerializer]),
    retrieve=extend_schema(summary="One ownership claim", responses={200: ClaimSerializer, 404: None}),
)
@extend_schema(tags=["ownership claims"])
class ClaimViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Someone takes over an identity whose owners have all left; a reviewer decides."""

    serializer_class = ClaimSerializer
    lookup_value_converter = "int"
    parser_classes = [JSONParser]
    filterset_class = ClaimWindowFilter

    def get_queryset(self):
        query = valid(ClaimQuerySerializer, self.request.query_params) if self.action == "list" else {}
        return selectors.claim_list(user=self.request.user, view=query.get("view", "all"), state=query.get("state", ""))

    def get_object(self):
        try:
            claim = selectors.claim_get(user=self.request.user, pk=self.kwargs["pk"])
        except OwnershipClaim.DoesNotExist:
            raise Http404 from None
        self.check_object_permissions(self.request, claim)
        return claim

    # Who may act is asked in DRF's own checks, which run before a query parameter is read
    # (TakesOnlyItsParameters): a refused caller gets the same 403 with or without one.
    def check_permissions(self, request):
        super().check_permissions(request)
        if self.action == "create" and not claims.may_claim(request.user):
            # Who may claim is answered first: it depends on nothing sent.
            raise PermissionDenied(claims.CLAIMANTS)
        if self.action == "orphaned" and not (claims.may_claim(request.user) or sees_everything(request.user)):
            raise PermissionDenied("Owners, reviewers, compliance and security admins see the orphaned identities.")

    def check_object_permissions(self, request, claim):
        # After the lookup (get_object): one who may not see the claim gets its 404 first. A
        # claim that no longer waits is left to the service function, which answers 409 with
        # its state; may_decide and may_cancel are False for it and would make that a
        # misleading 403.
        super().check_object_permissions(request, claim)
        if claim.state != ClaimState.PENDING:
            return
        if self.action in ("approve", "reject") and not claims.may_decide(request.user, claim):
            raise PermissionDenied(claims.DECIDERS)
        if self.action == "cancel" and not claims.may_cancel(request.user, claim):
            raise PermissionDenied("Only the claimant withdraws a claim.")

    @extend_schema(
        summary="Claim an orphaned identity (owners and security admins)",
        request=ClaimSerializer,
        responses={
            201: ClaimSerializer,
            400: OpenApiResponse(description="A field is invalid; the reasons are keyed by field name."),
            403: OpenApiResponse(description="Your role does not claim identities: only owners and security admins may be made owners."),
            404: OpenApiResponse(description="No such identity, or it is not orphaned."),
        },
    )
    def create(self, request):
        data = valid(ClaimSerializer, request.data)
        # Not orphaned (any more) or no such identity: nothing to claim, whatever the reason.
        identity = get_object_or_404(selectors.orphaned_to_claim(request.user), pk=data["identity_id"])
        claim = claims.claim_create(actor=request.user, identity=identity, reason=data["reason"])
        return Response(ClaimSerializer(claim).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Approve: the claimant becomes the primary owner", request=NoteSerializer, responses=_CLAIM_DECISION_RESPONSES)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """The claimant becomes the identity's primary owner; its former owners stay on as backups."""
        claim = self.get_object()
        reason = valid(NoteSerializer, request.data)["reason"]
        claims.claim_approve(actor=request.user, claim=claim, reason=reason)
        return Response(ClaimSerializer(self.get_object()).data)

    @extend_schema(summary="Reject, with the reason the claimant reads", request=RefusalSerializer, responses=_CLAIM_DECISION_RESPONSES)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Refuse the claim; the identity stays orphaned."""
        claim = self.get_object()
        reason = valid(RefusalSerializer, request.data)["reason"]
        claims.claim_reject(actor=request.user, claim=claim, reason=reason)
        return Response(ClaimSerializer(self.get_object()).data)

    @extend_schema(summary="Withdraw your claim while it waits", request=NoteSerializer, responses=_CLAIM_DECISION_RESPONSES)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Only the claimant withdraws a claim."""
        claim = self.get_object()
        reason = valid(NoteSerializer, request.data)["reason"]
        claims.claim_cancel(actor=request.user, claim=claim, reason=reason)
        return Response(ClaimSerializer(self.get_object()).data)

    @extend_schema(
        summary="Orphaned identities you may claim",
        responses={200: OrphanSerializer(many=True), 403: OpenApiResponse(description="Your role neither claims identities nor reads everything.")},
    )
    @action(detail=False, methods=["get"], filter_backends=[])
    def orphaned(self, request):
        """Identities not offboarded none of whose owners is active, by name: what identifies one, nothing it holds."""
        page = self.paginate_queryset(selectors.orphaned_to_claim(request.user))
        return self.get_paginated_response(OrphanSerializer(page, many=True).data)


def _campaign_action_responses(conflict: str) -> dict:
    return {
        200: CampaignDetailSerializer,
        403: OpenApiResponse(description="Your role does not run campaigns."),
        404: OpenApiResponse(description="No such campaign, or one you may not see."),
        409: OpenApiResponse(description=conflict),
    }


@extend_schema_view(
    list=extend_schema(summary="List the attestation campaigns you may see, newest first"),
    retrieve=extend_schema(summary="One attestation campaign, with its progress", responses={200: CampaignDetailSerializer, 404: None}),
)
@extend_schema(tags=["attestation campaigns"])
class CampaignViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reviewers ask the owners of many identities at once to attest them by one date."""

    serializer_class = CampaignSerializer
    lookup_value_converter = "int"
    parser_classes = [JSONParser]
    filterset_class = CampaignWindowFilter

    def get_queryset(self):
        return selectors.campaign_list(user=self.request.user).select_related("launched_by")

    def get_object(self):
        try:
            campaign = self.get_queryset().get(pk=self.kwargs["pk"])
        except Campaign.DoesNotExist:
            raise Http404 from None
        self.check_object_permissions(self.request, campaign)
        return campaign

    # Who may act is asked in DRF's own checks, which run before a query parameter is read
    # (TakesOnlyItsParameters): a refused caller gets the same 403 with or without one.
    def check_permissions(self, request):
        super().check_permissions(request)
        if self.action == "create":  # who may launch is answered first: it depends on nothing sent
            self._require_runner()

    def check_object_permissions(self, request, campaign):
        # After the lookup (get_object): one who may not see the campaign gets its 404 first.
        super().check_object_permissions(request, campaign)
        if self.action in ("close", "stop_repeating"):
            self._require_runner()

    def _detail(self, campaign, status_code=status.HTTP_200_OK):
        context = {"progress": selectors.campaign_progress(campaign, self.request.user)}
        return Response(CampaignDetailSerializer(campaign, context=context).data, status=status_code)

    def retrieve(self, request, pk=None):
        return self._detail(self.get_object())

    def _require_runner(self):
        if not campaigns.may_run(self.request.user):
            raise PermissionDenied("Reviewers and security admins run attestation campaigns.")

    @extend_schema(
        summary="Launch a campaign (reviewers and security admins)",
        request=CampaignSerializer,
        responses={
            201: CampaignDetailSerializer,
            400: OpenApiResponse(description="A field is invalid; the reasons are keyed by field name."),
            403: OpenApiResponse(description="Your role does not run campaigns."),
        },
    )
    def create(self, request):
        campaign = campaigns.campaign_launch(actor=request.user, **valid(CampaignSerializer, request.data))
        # Read back through the gate for the counts the output shows.
        return self._detail(self.get_queryset().get(pk=campaign.pk), status.HTTP_201_CREATED)

    @extend_schema(
        summary="Close the campaign: what was not attested stays on record as missed",
        request=None, responses=_campaign_action_responses("The campaign is closed already."),
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        campaign = self.get_object()
        campaigns.campaign_close(actor=request.user, campaign=campaign)
        return self._detail(self.get_object())

    @extend_schema(
        summary="Stop a repeating campaign from launching its next round",
        request=None, responses=_campaign_action_responses("The campaign does not repeat (any more)."),
    )
    @action(detail=True, methods=["post"], url_path="stop-repeating")
    def stop_repeating(self, request, pk=None):
        campaign = self.get_object()
        campaigns.campaign_stop_repeating(actor=request.user, campaign=campaign)
        return self._detail(self.get_object())

    @extend_schema(
        summary="The campaign's identities you may see, with who attested them",
        parameters=[CampaignItemQuerySerializer],
        responses={200: CampaignItemSerializer(many=True), 404: None},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def items(self, request, pk=None):
        campaign = self.get_object()
        state = valid(CampaignItemQuerySerializer, request.query_params)["state"]
        page = self.paginate_queryset(selectors.campaign_items(campaign=campaign, user=request.user, state=state))
        return self.get_paginated_response(CampaignItemSerializer(page, many=True).data)
