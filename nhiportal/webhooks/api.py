"""The webhooks API, for security admins (403 for everyone else), through the same services
as the pages: the signing secret is in the answer that creates or rotates it, and nowhere else."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from nhiportal.api import FilterBackend, JSONParser, TakesOnlyItsFields, TakesOnlyItsParameters, valid
from nhiportal.people.roles import is_security_admin

from . import selectors
from .delivery import body_of, send_test
from .events import CATEGORIES
from .filters import DeliveryFilter
from .models import PayloadFormat, WebhookDelivery, masked_url
from .services import QUEUED, delivery_redeliver, endpoint_create, endpoint_delete, endpoint_rotate_secret, endpoint_update


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.IntegerField(help_text="The audit event's id (0 for a test event).")
    action = serializers.CharField()
    attempted_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    duration_ms = serializers.IntegerField()
    succeeded = serializers.BooleanField()


class DeliveryDetailSerializer(DeliverySerializer):
    """One attempt, with what it carried and where its event stands now."""

    payload = serializers.SerializerMethodField(help_text=(
        "The JSON body the portal sends for the event, in the webhook's format as it is now; null for a test event or "
        "the portal's own failure. Its signature, made with the signing secret, is not shown."
    ))
    attempts = serializers.SerializerMethodField(help_text="The latest attempts to deliver the same event to this webhook, newest first.")
    delivered_later = serializers.SerializerMethodField(help_text="The id of the later attempt that delivered a failed delivery's event.")
    redeliverable = serializers.SerializerMethodField()
    redelivery_refusal = serializers.SerializerMethodField(help_text="Why it cannot be redelivered now; empty if it can.")

    def get_payload(self, delivery) -> dict | None:
        event = selectors.event_of(delivery)
        # The audit record, which the audit API already gives security admins: the trail keeps no secret.
        return body_of(delivery.endpoint, event) if event else None

    @extend_schema_field(DeliverySerializer(many=True))
    def get_attempts(self, delivery) -> list[dict]:
        return DeliverySerializer(selectors.attempts(delivery), many=True).data

    def get_delivered_later(self, delivery) -> int | None:
        later = selectors.delivered_later(delivery)
        return later.pk if later else None

    def get_redeliverable(self, delivery) -> bool:
        return not self.get_redelivery_refusal(delivery)

    def get_redelivery_refusal(self, delivery) -> str:
        return selectors.redelivery_refusal(delivery, delivery.endpoint, timezone.now())


class RedeliverySerializer(serializers.Serializer):
    event_id = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(help_text="From when the next sweep sends the event.")
    detail = serializers.CharField()


class MaskedURLField(serializers.URLField):
    """A webhook's URL, its password shown as *** (models.masked_url): sending the URL back with
    the mask keeps the password the portal holds for that user at that address."""

    def to_representation(self, value):
        return masked_url(super().to_representation(value))


class EndpointSerializer(TakesOnlyItsFields, serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = MaskedURLField(max_length=500, help_text="Its password, if it has one, is shown as ***; send *** back to keep it.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    categories = serializers.ListField(
        child=serializers.ChoiceField(choices=list(CATEGORIES)), required=False, default=list,
        help_text="Kinds of event to send; empty: all.",
    )
    format = serializers.ChoiceField(choices=PayloadFormat.choices, required=False, default=PayloadFormat.STANDARD)
    enabled = serializers.BooleanField(required=False, default=True)
    cursor = serializers.IntegerField(read_only=True, help_text="The id of the last audit event handled.")
    failures = serializers.IntegerField(read_only=True)
    failing_since = serializers.DateTimeField(read_only=True, allow_null=True)
    next_attempt_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_success_at = serializers.DateTimeField(read_only=True, allow_null=True)


class EndpointDetailSerializer(EndpointSerializer):
    recent_deliveries = serializers.SerializerMethodField()

    def get_recent_deliveries(self, endpoint) -> list[dict]:
        return DeliverySerializer(selectors.recent_deliveries(endpoint), many=True).data


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="The whsec_ signing secret, shown this once.")


class DeleteSerializer(TakesOnlyItsFields, serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


@extend_schema(tags=["webhooks"])
class WebhookViewSet(TakesOnlyItsParameters, viewsets.GenericViewSet):
    """Endpoints that receive audit events, signed (Standard Webhooks); security admins only."""

    lookup_value_converter = "int"
    nested_lookups = {"delivery_pk": "_delivery"}  # TakesOnlyItsParameters: its 404 before a stray parameter's 400
    parser_classes = [JSONParser]
    filter_backends = []
    filterset_class = None  # the deliveries action's own (DeliveryFilter)
    serializer_class = EndpointSerializer

    def check_permissions(self, request):
        super().check_permissions(request)
        if not is_security_admin(request.user):
            raise PermissionDenied("Webhooks are managed by security admins.")

    def get_queryset(self):
        return selectors.endpoints()

    def get_object(self):
        # By id alone: the deliveries' filters are for deliveries, not for finding their endpoint.
        endpoint = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, endpoint)
        return endpoint

    def _delivery(self, endpoint) -> WebhookDelivery:
        return get_object_or_404(selectors.deliveries(endpoint).select_related("endpoint"), pk=self.kwargs["delivery_pk"])

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(EndpointSerializer(page, many=True).data)

    @extend_schema(request=EndpointSerializer, responses={201: EndpointWithSecretSerializer})
    def create(self, request):
        data = valid(EndpointSerializer, request.data)
        endpoint, secret = endpoint_create(actor=request.user, **{k: data[k] for k in ("url", "description", "categories", "enabled", "format")})
        return Response({**EndpointSerializer(endpoint).data, "secret": secret}, status=status.HTTP_201_CREATED)

    @extend_schema(responses=EndpointDetailSerializer)
    def retrieve(self, request, pk=None):
        return Response(EndpointDetailSerializer(self.get_object()).data)

    @extend_schema(request=EndpointSerializer, responses=EndpointSerializer)
    def update(self, request, pk=None):
        data = valid(EndpointSerializer, request.data)
        endpoint = endpoint_update(actor=request.user, endpoint=self.get_object(), **{k: data[k] for k in ("url", "description", "categories", "enabled", "format")})
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(request=DeleteSerializer, responses={204: None})
    def destroy(self, request, pk=None):
        endpoint_delete(actor=request.user, endpoint=self.get_object(), reason=valid(DeleteSerializer, request.data)["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="A new signing secret, in force at once", request=None, responses=EndpointWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = self.get_object()
        secret = endpoint_rotate_secret(actor=request.user, endpoint=endpoint)
        return Response({**EndpointSerializer(endpoint).data, "secret": secret})

    @extend_schema(summary="Send a test event now", request=None, responses=DeliverySerializer)
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        return Response(DeliverySerializer(send_test(self.get_object())).data)

    @extend_schema(summary="The webhook's deliveries, newest first", responses=DeliverySerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[FilterBackend], filterset_class=DeliveryFilter)
    def deliveries(self, request, pk=None):
        page = self.paginate_queryset(self.filter_queryset(selectors.deliveries(self.get_object())))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(summary="One delivery: its event, payload and attempts", responses={200: DeliveryDetailSerializer, 404: None})
    @action(detail=True, methods=["get"], url_path="deliveries/<int:delivery_pk>")
    def delivery(self, request, pk=None, delivery_pk=None):
        return Response(DeliveryDetailSerializer(self._delivery(self.get_object())).data)

    @extend_schema(
        summary="Send a failed delivery's event again, with the next sweep", request=None,
        responses={
            202: RedeliverySerializer, 404: None,
            409: OpenApiResponse(description=(
                "Not now, and the reason says why: the webhook is off, the event was delivered or no longer waits, "
                "or it was a test event."
            )),
        },
    )
    @action(detail=True, methods=["post"], url_path="deliveries/<int:delivery_pk>/redeliver")
    def redeliver(self, request, pk=None, delivery_pk=None):
        delivery = self._delivery(self.get_object())
        endpoint = delivery_redeliver(actor=request.user, delivery=delivery)
        endpoint.refresh_from_db(fields=["next_attempt_at"])
        return Response(RedeliverySerializer({
            "event_id": delivery.event_id, "next_attempt_at": endpoint.next_attempt_at, "detail": QUEUED.format(delivery.event_id),
        }).data, status=status.HTTP_202_ACCEPTED)
