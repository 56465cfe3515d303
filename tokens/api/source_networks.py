"""API of the networks the identities you may see got tokens from (the source networks list's):
read through the one gate, filtered by the list's own filters, and a network recognised by
those who may change its identity (its owners, security admins; 403 otherwise)."""

import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from inventory.models import AIIdentity
from nhiportal.api import TakesOnlyItsParameters, valid
from nhiportal.time_window import window

from ..filters import SourceNetworkFilter
from ..source_networks import new_networks, network_recognise, source_list
from .serializers import NetworkRecogniseSerializer, SourceNetworkSerializer
from .views import _changeable_identity

# As the API took it before it took the list's filters: 1 and 0 too.
TRUE_OR_FALSE = (("true", "Yes"), ("false", "No"), ("1", "Yes"), ("0", "No"))


class SourceNetworkApiFilter(SourceNetworkFilter):
    """The list's filters for the API: an identity by its id alone, and since/until as instants."""

    identity = django_filters.UUIDFilter(field_name="identity_id", label="Identity (id)", help_text="One identity's networks.")
    new = django_filters.ChoiceFilter(
        choices=TRUE_OR_FALSE, method="filter_new", label="New",
        help_text="Only the networks first seen in the last 7 days that were not their identity's first, nor recognised by an owner (false: all the others).",
    )
    since, until = window("first_seen_at", "Networks first seen")

    class Meta:
        model = SourceNetworkFilter.Meta.model
        fields = SourceNetworkFilter.Meta.fields

    def __init__(self, data=None, queryset=None, *, request=None, **kwargs):
        # The id filters the rows the gate left (source_list): no lookup among the identities
        # seen by name, as the page's box makes, is needed.
        super().__init__(
            data, queryset=queryset, request=request, identities=AIIdentity.objects.none(), news=new_networks(timezone.now()), **kwargs,
        )

    def filter_new(self, queryset, name, value):
        return super().filter_new(queryset, name, {"1": "true", "0": "false"}.get(value, value))


@extend_schema(tags=["identities"])
class SourceNetworkViewSet(TakesOnlyItsParameters, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The networks the identities you may see got tokens from, and when first, newest first."""

    serializer_class = SourceNetworkSerializer
    filterset_class = SourceNetworkApiFilter

    def get_queryset(self):
        return source_list(user=self.request.user)

    @extend_schema(request=NetworkRecogniseSerializer, responses={201: SourceNetworkSerializer})
    def create(self, request):
        """Recognise a network the agent moved to, before any token came from it: its requests
        from there are no longer new to policy (context.new_network). Its owners and security admins."""
        data = valid(NetworkRecogniseSerializer, request.data)
        identity = _changeable_identity(request, data["identity"])
        source = network_recognise(actor=request.user, identity=identity, address=data["address"])
        listed = source_list(user=request.user, identity=identity.pk).get(pk=source.pk)  # with its baseline mark
        return Response(SourceNetworkSerializer(listed).data, status=status.HTTP_201_CREATED)
