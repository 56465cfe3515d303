"""Reads of the inventory, already narrowed by the visibility gate."""

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone

from . import visibility
from .models import AIIdentity, Ownership, OwnerRole, Status


def with_owner_facts(queryset: QuerySet) -> QuerySet:
    """Annotate the primary owner's username and whether any owner is active (no N+1)."""
    active_owner = Ownership.objects.filter(identity=OuterRef("pk"), person__is_active=True)
    primary = Ownership.objects.filter(identity=OuterRef("pk"), role=OwnerRole.PRIMARY).values("person__username")[:1]
    return queryset.annotate(has_active_owner=Exists(active_owner), primary_owner_name=Subquery(primary))


def orphaned_q(orphaned: bool = True) -> Q:
    """Identities (not yet offboarded) none of whose owners is an active person."""
    active_owner = Exists(Ownership.objects.filter(identity=OuterRef("pk"), person__is_active=True))
    if orphaned:
        return ~active_owner & ~Q(status=Status.OFFBOARDED)
    return active_owner | Q(status=Status.OFFBOARDED)


def attestation_overdue_q(overdue: bool = True) -> Q:
    q = Q(attestation_due__lt=timezone.localdate(), status__in=[Status.ACTIVE, Status.SUSPENDED])
    return q if overdue else ~q


def identity_list(*, user, action: str = visibility.VIEW) -> QuerySet:
    return with_owner_facts(visibility.restrict(AIIdentity.objects.all(), user, action))


def identity_get(*, user, pk, action: str = visibility.VIEW) -> AIIdentity:
    """The identity if the user may see it (or change it); 404 otherwise, so outsiders learn nothing."""
    return get_object_or_404(identity_list(user=user, action=action), pk=pk)


def identity_owners(identity: AIIdentity) -> list[Ownership]:
    return list(identity.ownerships.select_related("person").order_by("role", "person__username"))


def people_who_can_own() -> QuerySet:
    return get_user_model().objects.filter(is_active=True).order_by("username")
