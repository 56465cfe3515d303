"""The webhooks API, for security admins (403 for everyone else), through the same services
as the pages: the signing secret is in the answer that creates or rotates it, and nowhere else."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from nhiportal.api import JSONParser, TakesOnlyItsFields, valid
from nhiportal.people.roles import is_security_admin

from . import selectors
from .delivery import send_test
from .events import CATEGORIES
from .models import PayloadFormat, masked_url
from .services import endpoint_create, endpoint_delete, endpoint_rotate_secret, endpoint_update


class DeliverySerializer(serializers.Serializer):
    event_id = serializers.IntegerField(help_text="The audit event's id (0 for a test event).")
    action = serializers.CharField()
    attempted_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    duration_ms = serializers.IntegerField()
    succeeded = serializers.BooleanField()


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
class WebhookViewSet(viewsets.GenericViewSet):
    """Endpoints that receive audit events, signed (Standard Webhooks); security admins only."""

    lookup_value_converter = "int"
    parser_classes = [JSONParser]
    filter_backends = []
    serializer_class = EndpointSerializer

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not is_security_admin(request.user):
            raise PermissionDenied("Webhooks are managed by security admins.")

    def get_queryset(self):
        return selectors.endpoints()

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
