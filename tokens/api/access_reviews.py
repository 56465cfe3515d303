"""The access reviews API: the same gate and services as the pages. Readers of everything see
every round, a service's owner the rounds over their services (403 for others, 404 for a round
they have no part in); reviewers and security admins launch and close; whoever may decide an
item on the page decides it here."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from nhiportal import free_text
from nhiportal.api import JSONParser, TakesOnlyItsFields, TakesOnlyItsParameters, valid
from nhiportal.people.roles import sees_everything

from .. import access_reviews
from ..models import ReviewDecision, Service
from ..selectors import grant_state


class AccessReviewProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="the round's grants you may see")
    kept = serializers.IntegerField()
    revoked = serializers.IntegerField()
    waiting = serializers.IntegerField(help_text="not decided yet")


class AccessReviewSerializer(TakesOnlyItsFields, serializers.Serializer):
    """A round as access_reviews.reviews_for() reads it: counted over the grants the reader may see."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=120)
    service = serializers.PrimaryKeyRelatedField(queryset=Service.objects.all(), allow_null=True, required=False, help_text="empty: every service")
    due = serializers.DateField(help_text="decide by: decisions are taken until the end of that day (UTC); today or later, within a year")
    instructions = serializers.CharField(required=False, allow_blank=True, default="", max_length=free_text.MAX_CHARS)
    revoke_unreviewed = serializers.BooleanField(required=False, default=False)
    launched_at = serializers.DateTimeField(read_only=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    progress = serializers.SerializerMethodField()

    @extend_schema_field(AccessReviewProgressSerializer)
    def get_progress(self, review):
        # From the counts reviews_for() annotates, so a page of rounds costs no query per round.
        return {
            "total": review.total, "kept": review.decided - review.revoked, "revoked": review.revoked,
            "waiting": review.total - review.decided,
        }


class AccessReviewItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    identity = serializers.UUIDField(source="grant.identity_id")
    identity_name = serializers.CharField(source="grant.identity.name")
    service = serializers.CharField(source="grant.service.name")
    grant = serializers.IntegerField(source="grant_id")
    scopes = serializers.ListField(source="grant.scopes", child=serializers.CharField())
    grant_state = serializers.SerializerMethodField()
    decision = serializers.CharField(help_text="keep, revoke, or empty while it waits")
    decided_by = serializers.CharField(source="decided_by_label")
    decided_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()

    def get_grant_state(self, item) -> str:
        return grant_state(item.grant)


class DecisionSerializer(TakesOnlyItsFields, serializers.Serializer):
    decision = serializers.ChoiceField(choices=ReviewDecision.choices)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


@extend_schema(tags=["access reviews"])
class AccessReviewViewSet(TakesOnlyItsParameters, viewsets.GenericViewSet):
    lookup_value_converter = "int"
    nested_lookups = {"item_pk": "_item"}  # TakesOnlyItsParameters: its 404 before a stray parameter's 400
    parser_classes = [JSONParser]
    filter_backends = []
    serializer_class = AccessReviewSerializer

    def check_permissions(self, request):
        super().check_permissions(request)
        if not access_reviews.may_see_reviews(request.user):
            raise PermissionDenied("Access reviews are open to reviewers, compliance, security admins and service owners.")
        if self.action == "create" and not access_reviews.may_launch(request.user):
            raise PermissionDenied(access_reviews.LAUNCHERS)  # the service asks too, for the pages

    def get_queryset(self):
        return access_reviews.reviews_for(self.request.user)

    def get_object(self):
        review = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        if not sees_everything(self.request.user) and not access_reviews.items_for(self.request.user, review).exists():
            raise Http404
        # Once a round they have no part in is a 404: a service owner learns nothing of it.
        self.check_object_permissions(self.request, review)
        return review

    def _item(self, review):
        # Among the items the person may see: another service's grant is a 404 to its owner.
        item = access_reviews.items_for(self.request.user, review).filter(pk=self.kwargs["item_pk"]).first()
        if item is None:
            raise Http404
        # Who may decide it, asked here (before a stray query parameter's 400) of an item that
        # waits; a closed round or a decided grant is left to the service function's 409.
        if self.action == "decide" and review.is_open and not item.decision:
            refusal = access_reviews.why_not_decider(self.request.user, item)
            if refusal:
                raise PermissionDenied(refusal)
        return item

    def check_object_permissions(self, request, review):
        # Asked before a query parameter is read (TakesOnlyItsParameters): a refused caller gets
        # the same 403 with or without one. The service function asks too, for the pages.
        super().check_object_permissions(request, review)
        if self.action == "close" and not access_reviews.may_launch(request.user):
            raise PermissionDenied(access_reviews.CLOSERS)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AccessReviewSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(AccessReviewSerializer(self.get_object()).data)

    def _shown(self, review, status_code=status.HTTP_200_OK):
        # Read back through reviews_for() for the counts the output shows.
        return Response(AccessReviewSerializer(self.get_queryset().get(pk=review.pk)).data, status=status_code)

    @extend_schema(request=AccessReviewSerializer, responses={201: AccessReviewSerializer})
    def create(self, request):
        data = valid(AccessReviewSerializer, request.data)
        review = _allowed(lambda: access_reviews.access_review_launch(actor=request.user, **data))
        return self._shown(review, status.HTTP_201_CREATED)

    @extend_schema(summary="The grants of the round you may see, with their decisions", responses=AccessReviewItemSerializer(many=True))
    @action(detail=True, methods=["get"])
    def items(self, request, pk=None):
        # Paginated like every other list: a round over every service holds thousands of grants.
        page = self.paginate_queryset(access_reviews.items_for(request.user, self.get_object()))
        return self.get_paginated_response(AccessReviewItemSerializer(page, many=True).data)

    @extend_schema(summary="Keep or revoke one grant (a reason to revoke)", request=DecisionSerializer, responses={
        200: AccessReviewItemSerializer, 409: OpenApiResponse(description="The round is closed, or the grant was decided already."),
    })
    @action(detail=True, methods=["post"], url_path="items/<int:item_pk>/decide")
    def decide(self, request, pk=None, item_pk=None):
        item = self._item(self.get_object())
        data = valid(DecisionSerializer, request.data)
        item = _allowed(lambda: access_reviews.access_review_decide(actor=request.user, item=item, **data))
        return Response(AccessReviewItemSerializer(item).data)

    @extend_schema(
        summary="Close the round", request=None,
        responses={200: AccessReviewSerializer, 409: OpenApiResponse(description="The round is closed already.")},
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        review = self.get_object()
        _allowed(lambda: access_reviews.access_review_close(actor=request.user, review=review))
        return self._shown(review)


def _allowed(call):
    """A service's refusal of the person (Django's PermissionDenied) as the API's 403."""
    try:
        return call()
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc) or None) from exc
