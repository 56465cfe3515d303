"""API for federated issuers (tokens/federation.py), for security admins."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from nhiportal.api import JSONParser, TakesOnlyItsParameters, valid

from ..federation import federated_issuer_create, federated_issuer_update
from ..models import FederatedIssuer
from .serializers import FederatedIssuerDistrustedSerializer, FederatedIssuerSerializer, FederatedIssuerUpdateSerializer
from .views import KeysRefreshMixin, TrustChangeMixin, _require_security_admin, keys_holder_schema


@keys_holder_schema(FederatedIssuerSerializer, FederatedIssuerDistrustedSerializer)
@extend_schema(tags=["services"])
class FederatedIssuerViewSet(TakesOnlyItsParameters, TrustChangeMixin, KeysRefreshMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """OpenID Connect issuers whose workload tokens agents may present (GitHub Actions, Kubernetes)."""

    serializer_class = FederatedIssuerSerializer
    parser_classes = [JSONParser]
    queryset = FederatedIssuer.objects.order_by("name")

    def check_permissions(self, request):
        super().check_permissions(request)
        _require_security_admin(request)

    def create(self, request):
        data = valid(FederatedIssuerSerializer, request.data)
        issuer = federated_issuer_create(actor=request.user, **data)
        return Response(FederatedIssuerSerializer(issuer).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=FederatedIssuerUpdateSerializer)
    def partial_update(self, request, pk=None):
        """What is left out stays as it is; keys are fetched again unless jwks is given."""
        held = self.get_object()
        data = valid(FederatedIssuerUpdateSerializer, request.data)
        current = {
            "name": held.name, "audience": held.audience, "bundle_endpoint": held.bundle_endpoint,
            "jwks": None if held.bundle_endpoint else held.jwks, "max_age": held.max_age, "reusable": held.reusable,
        }
        issuer = federated_issuer_update(actor=request.user, federated_issuer=held, **{**current, **data})
        return Response(FederatedIssuerSerializer(issuer).data)
