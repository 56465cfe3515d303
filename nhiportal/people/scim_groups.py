"""The directory's groups as SCIM 2.0 Groups (RFC 7643 section 4.2), their members the portal's
SCIM Users. scim2-models validates the bodies, applies PATCH operations and writes responses;
this module maps its Group onto a DirectoryGroup and turns a parsed filter into a query.
"""

import uuid
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet
from scim2_models import Group, GroupMember, InvalidFilterException, InvalidValueException, Meta, PatchOp, ScimPolicy
from scim2_models.path.expressions import Comparison, CompareOperator, Present, ValuePath

from .models import DirectoryGroup
from .scim import QueryFromFilter, user_pk

# Entra ID removes members with {"op": "Remove", "path": "members", "value": [{"value": id}]},
# which RFC 7644 section 3.5.2.2 does not allow (only a filter in the path selects what goes):
# its value then selects, rather than the whole list going.
ENTRA_ID = ScimPolicy(remove_value_as_filter=ScimPolicy.RemoveValue.apply)
_MEMBERSHIPS = DirectoryGroup.members.through


class _MemberQuery(QueryFromFilter):
    """A filter on one member (members[value eq "12"], members.value eq "12", members eq "12")
    as a Q over memberships. Member values are User ids: only eq and ne mean anything."""

    FIELDS = {("value", None): ("user_id", False), ("members", None): ("user_id", False), ("members", "value"): ("user_id", False)}

    def visit_comparison(self, node: Comparison) -> Q:
        if node.op not in (CompareOperator.eq, CompareOperator.ne):
            raise InvalidFilterException(detail=f"Members are compared with eq or ne, not {node.op.value}.")
        return super().visit_comparison(node)

    def may_match(self, field: str, value) -> bool:
        return user_pk(value) is not None

    def visit_present(self, node: Present) -> Q:
        self.field(node.attr_path)
        return Q()


def _with_member(memberships: Q) -> Q:
    """Groups with at least one member the Q selects. A subquery, not a join, so `and` and `not`
    over several member terms mean what they say (a member 1 and a member 2; no member 1)."""
    return Q(pk__in=_MEMBERSHIPS.objects.filter(memberships).values("directorygroup_id"))


class _ToQuery(QueryFromFilter):
    """A parsed filter as a Django Q over groups. displayName compares without case (RFC 7643
    section 8.7.1), externalId with it."""

    FIELDS = {
        ("id", None): ("scim_id", False),
        ("displayname", None): ("display_name", True),
        ("externalid", None): ("external_id", False),
        ("meta", "created"): ("created_at", False),
        ("meta", "lastmodified"): ("updated_at", False),
    }

    def may_match(self, field: str, value) -> bool:
        if field != "scim_id":
            return True
        try:
            uuid.UUID(str(value))
        except ValueError:
            return False
        return True

    def visit_comparison(self, node: Comparison) -> Q:
        if node.attr_path.attr.lower() == "members":
            return _with_member(_MemberQuery().visit(node))
        if node.attr_path.attr.lower() == "id" and node.op not in (CompareOperator.eq, CompareOperator.ne):
            raise InvalidFilterException(detail=f"Ids are compared with eq or ne, not {node.op.value}.")
        return super().visit_comparison(node)

    def visit_present(self, node: Present) -> Q:
        if node.attr_path.attr.lower() == "members":
            return _with_member(_MemberQuery().visit(node))
        return super().visit_present(node)

    def visit_value_path(self, node: ValuePath) -> Q:
        if node.attr_path.attr.lower() != "members":
            raise InvalidFilterException(detail="Filters in brackets (valuePath) are only supported on members.")
        return _with_member(_MemberQuery().visit(node.val_filter))


def groups_matching(scim_filter) -> QuerySet:
    """Live groups a parsed SCIM filter (or None) selects, oldest first (pages must not shift).
    Raises InvalidFilterException for a filter on what is not kept."""
    groups = DirectoryGroup.objects.filter(deleted_at__isnull=True).order_by("pk")
    if scim_filter is not None:
        groups = groups.filter(_ToQuery().visit(scim_filter.ast))
    return groups


def with_members(groups: QuerySet) -> QuerySet:
    """The groups with their members read in one more query, not one per group."""
    people = get_user_model().objects.only("pk", "username").order_by("pk")
    return groups.prefetch_related(Prefetch("members", queryset=people))


def as_scim_group(group, *, location: str | None = None, user_location: Callable | None = None, members: bool = True) -> Group:
    """The group as SCIM shows it, with its members unless told not to (excludedAttributes=members,
    which Okta and Entra ID send so as not to read large groups); user_location gives a member's
    SCIM URL ($ref)."""
    entries = [
        GroupMember(
            value=str(person.pk), display=person.get_username(), type="User",
            ref=user_location(person) if user_location else None,
        )
        for person in group.members.all()
    ] if members else None
    return Group(
        id=str(group.scim_id),
        external_id=group.external_id or None,
        display_name=group.display_name,
        members=entries or None,
        meta=Meta(resource_type="Group", created=group.created_at, last_modified=group.updated_at, location=location),
    )


def group_fields(group: Group) -> dict:
    """What the portal keeps of a SCIM Group. Its members are Users, named by their ids: a group
    in a group (nested groups) is refused rather than flattened."""
    members = group.members or []
    if any(member.type not in (None, "User") or not member.value for member in members):
        raise InvalidValueException(detail="A member is a User, given by its id in value: groups in groups are not supported.")
    return {
        "display_name": group.display_name or "",
        "external_id": group.external_id or "",
        "members": [member.value for member in members],
    }


def patched_fields(group, patch: PatchOp[Group]) -> dict:
    """The group's fields once the PATCH's operations are applied to it as it stands."""
    current = as_scim_group(group)
    patch.patch(current, scim_policy=ENTRA_ID)
    return group_fields(current)
