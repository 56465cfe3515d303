"""The attestations API (/api/v1/attestations/), the rules of inventory/attestation_reviews.py:

- whoever may see an identity sees its attestations (the one gate; 404 otherwise);
  view=mine lists those you made, view=waiting those you review, oldest first;
  ?identity= narrows to one identity;
- a reviewer or security admin who neither made the attestation nor owns the identity
  confirms it (an optional note) or rejects it with a reason (403 for anyone else); a
  rejection makes the identity due for attestation today; one that no longer waits (reviewed
  already, or superseded by a later attestation) is a 409 with its state.
"""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from nhiportal.api import JSONParser, QuerySerializer, TakesOnlyItsParameters, valid
from nhiportal.decisions import NoteSerializer, RefusalSerializer

from .. import attestation_reviews, selectors
from ..filters import AttestationWindowFilter
from ..models import Attestation, AttestationReview


class AttestationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    identity = serializers.UUIDField(source="identity_id")
    identity_name = serializers.CharField(source="identity.name")
    attested_by = serializers.CharField(source="person.username")
    attested_at = serializers.DateTimeField()
    note = serializers.CharField()
    review = serializers.ChoiceField(choices=AttestationReview.choices)
    reviewed_by = serializers.CharField(source="reviewed_by_label", help_text="who confirmed or rejected it")
    reviewed_at = serializers.DateTimeField(allow_null=True)
    review_reason = serializers.CharField(help_text="the reviewer's note, the reason for a rejection, or why it was superseded")


class AttestationQuerySerializer(QuerySerializer):
    view = serializers.ChoiceField(
        choices=selectors.ATTESTATION_VIEWS, required=False, default="all",
        help_text="all: those you may see; mine: those you made; waiting: those waiting for your review, oldest first",
    )
    state = serializers.ChoiceField(
        choices=AttestationReview.values, required=False, allow_blank=True, default="",
        help_text="the review's state; ignored with view=waiting, where every one listed is pending",
    )
    identity = serializers.UUIDField(required=False, help_text="one identity's attestations")


_DECISION_RESPONSES = {
    200: AttestationSerializer,
    400: OpenApiResponse(description="The reason is missing or too long."),
    403: OpenApiResponse(description="Someone else reviews this attestation."),
    404: OpenApiResponse(description="No such attestation, or one you may not see."),
    409: OpenApiResponse(description="The attestation no longer waits: reviewed already, or superseded (its state says why)."),
}


@extend_schema_view(
    list=extend_schema(summary="List the attestations you may see", parameters=[AttestationQuerySerializer]),
    retrieve=extend_schema(summary="One attestation", responses={200: AttestationSerializer, 404: None}),
)
@extend_schema(tags=["attestations"])
class AttestationViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Owners' statements that an identity is still needed, and their review by a second person."""

    serializer_class = AttestationSerializer
    lookup_value_converter = "int"
    parser_classes = [JSONParser]
    filterset_class = AttestationWindowFilter

    def get_queryset(self):
        query = valid(AttestationQuerySerializer, self.request.query_params) if self.action == "list" else {}
        return selectors.attestation_list(
            user=self.request.user, view=query.get("view", "all"), state=query.get("state", ""), identity=query.get("identity"),
        )

    def get_object(self):
        try:
            attestation = selectors.attestation_get(user=self.request.user, pk=self.kwargs["pk"])
        except Attestation.DoesNotExist:
            raise Http404 from None
        self.check_object_permissions(self.request, attestation)
        return attestation

    def check_object_permissions(self, request, attestation):
        # Asked after the lookup (its 404 first) and before a query parameter is read
        # (TakesOnlyItsParameters): a refused caller gets the same 403 with or without one.
        # One that no longer waits is left to the service function, which answers 409 with its
        # state; may_review is False for it and would make that a misleading 403.
        super().check_object_permissions(request, attestation)
        if (
            self.action in ("confirm", "reject") and attestation.review == AttestationReview.PENDING
            and not attestation_reviews.may_review(request.user, attestation)
        ):
            raise PermissionDenied(attestation_reviews.REVIEWERS)

    def _review(self, service, serializer_class):
        attestation = self.get_object()
        reason = valid(serializer_class, self.request.data)["reason"]
        service(actor=self.request.user, attestation=attestation, reason=reason)
        return Response(AttestationSerializer(self.get_object()).data)

    @extend_schema(summary="Confirm: the identity is still needed and its scope still right", request=NoteSerializer, responses=_DECISION_RESPONSES)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._review(attestation_reviews.attestation_confirm, NoteSerializer)

    @extend_schema(summary="Reject, with the reason the owners read: the identity is due for attestation again", request=RefusalSerializer, responses=_DECISION_RESPONSES)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._review(attestation_reviews.attestation_reject, RefusalSerializer)
