"""API of the issued-token ledger across identities (the tokens list's): read through the one
gate (404 for a token of an identity you may not see), revoked by those who may change its
identity (403 otherwise), with the portal's token revocation and its one audit event."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from inventory import visibility
from nhiportal.api import Conflict, JSONParser, TakesOnlyItsParameters, valid

from ..filters import IssuedTokenApiFilter
from ..issued_tokens import issued_token_list
from ..revocation import token_revoke
from ..selectors import token_state
from .serializers import IssuedTokenRevokedSerializer, IssuedTokenSerializer, OptionalReasonSerializer


@extend_schema(tags=["tokens"])
class IssuedTokenViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Tokens the portal issued to the identities you may see, newest first: never the token
    itself, which the ledger does not hold. Rows leave the ledger after expiry plus the
    retention period."""

    serializer_class = IssuedTokenSerializer
    parser_classes = [JSONParser]
    filterset_class = IssuedTokenApiFilter
    lookup_value_converter = "int"

    def get_queryset(self):
        return issued_token_list(user=self.request.user)

    def check_object_permissions(self, request, token):
        # After the lookup (its 404 first) and before a query parameter is read
        # (TakesOnlyItsParameters): a refused caller gets the same 403 with or without one.
        super().check_object_permissions(request, token)
        if self.action == "revoke" and not visibility.can(request.user, visibility.CHANGE, token.identity):
            raise PermissionDenied("Only the identity's owners and security admins revoke its tokens.")

    @extend_schema(request=OptionalReasonSerializer, responses={
        200: IssuedTokenRevokedSerializer,
        403: OpenApiResponse(description="You may read this token's identity but not change it: its owners and security admins revoke."),
        409: OpenApiResponse(description="The token is revoked or expired already: nothing to revoke."),
    })
    @action(detail=True, methods=["post"], filter_backends=[])
    def revoke(self, request, pk=None):
        """Revoke one token, with the tokens exchanged from it and the sub-tasks those opened
        (as an agent's RFC 7009 revocation does); its own task goes on."""
        token = self.get_object()
        state = token_state(token)
        if state != "live":
            raise Conflict(f"The token is {state} already: nothing to revoke.")
        reason = valid(OptionalReasonSerializer, request.data)["reason"] or "Revoked through the API."
        revoked = token_revoke(token=token, actor=request.user, reason=reason)
        token = self.get_queryset().get(pk=token.pk)
        token.tokens_revoked, token.tasks_ended = revoked.tokens, revoked.tasks_ended
        return Response(IssuedTokenRevokedSerializer(token).data)
