"""The filters of an endpoint's deliveries, shared by its page and the API."""

import django_filters
from django.db.models import Q

from .events import CHOICES, CATEGORIES

# What a delivery row can say: each row is one attempt, answered 2xx or not (no answer, another
# status, or the portal's own failure). An event not yet tried has no row; it waits in the
# endpoint's queue (delivery.py).
OUTCOMES = (("delivered", "Delivered"), ("failed", "Failed"))
DELIVERED = Q(status_code__gte=200, status_code__lt=300)


def category_q(key: str) -> Q:
    """The actions of one category, as events.wanted reads them: the action's first word, or the
    whole action."""
    found = Q()
    for prefix in CATEGORIES[key][1]:
        found |= Q(action=prefix) | Q(action__startswith=f"{prefix}.")
    return found


class DeliveryFilter(django_filters.FilterSet):
    """No model: in the API the deliveries are an action of the webhooks', whose own rows are
    endpoints."""

    outcome = django_filters.ChoiceFilter(choices=OUTCOMES, empty_label="Any", method="filter_outcome", label="Outcome")
    category = django_filters.ChoiceFilter(choices=CHOICES, empty_label="Any", method="filter_category", label="Events")

    def filter_outcome(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(DELIVERED) if value == "delivered" else queryset.exclude(DELIVERED)

    def filter_category(self, queryset, name, value):
        return queryset.filter(category_q(value)) if value else queryset
