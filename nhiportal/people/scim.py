"""People as SCIM 2.0 Users (RFC 7643), for the organisation's directory to provision, and what
Users and Groups (scim_groups.py) share: filters as queries, and the discovery documents.

scim2-models does the protocol's data: it validates request bodies, applies PATCH operations
(RFC 7644 section 3.5.2, paths and value filters included), parses filters, and writes
responses, errors and the discovery documents. This module maps its User onto the portal's
person and turns a parsed filter into a database query.
"""

from datetime import timezone as dt_timezone

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Email,
    EnterpriseUser,
    ETag,
    Filter,
    Group,
    InvalidFilterException,
    Meta,
    Name,
    Patch,
    ResourceType,
    ScimFilter,
    ServiceProviderConfig,
    Sort,
    User,
)
from scim2_models.path.expressions import Comparison, CompareOperator, LogicalExpr, LogicalOperator, Not, Present, ValuePath
from scim2_models.path.visitor import FilterVisitor

# The enterprise extension is accepted (Entra and Okta send it) and not kept.
ScimUser = User[EnterpriseUser]
MAX_RESULTS = 200
# No attribute a filter reads keeps more than 255 characters, so a longer value matches no
# row; nor is it sent as a LIKE pattern, which SQLite refuses past 50,000 bytes (a 500).
MAX_VALUE_CHARS = 1000

# SCIM attribute (lower case, as the filter names it) -> the person's field. userName and
# emails compare without case (RFC 7643 section 4.1: caseExact false).
_FIELDS = {
    ("id", None): ("pk", False),
    ("username", None): ("username", True),
    ("externalid", None): ("directory_entry__external_id", False),
    ("emails", None): ("email", True),
    ("emails", "value"): ("email", True),
    ("name", "givenname"): ("first_name", True),
    ("name", "familyname"): ("last_name", True),
    ("active", None): ("is_active", False),
    ("meta", "created"): ("date_joined", False),
}
_LOOKUPS = {"eq": "exact", "co": "contains", "sw": "startswith", "ew": "endswith", "gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}


def user_pk(value) -> int | None:
    """A SCIM User id as the person's primary key, or None for a value no person can have (not
    digits, or past a 64-bit key, which SQLite cannot even be asked about)."""
    value = str(value)
    return int(value) if value.isascii() and value.isdigit() and int(value) < 2**63 else None


class QueryFromFilter(FilterVisitor[Q]):
    """A parsed filter as a Django Q. FIELDS maps each SCIM attribute (lower case, as the filter
    names it, with its sub-attribute) to the model's field and whether it compares without case."""

    FIELDS: dict[tuple[str, str | None], tuple[str, bool]] = {}

    def field(self, attr_path) -> tuple[str, bool]:
        key = (attr_path.attr.lower(), attr_path.sub_attr.lower() if attr_path.sub_attr else None)
        if key not in self.FIELDS:
            name = attr_path.attr + (f".{attr_path.sub_attr}" if attr_path.sub_attr else "")
            raise InvalidFilterException(detail=f"Filtering on {name!r} is not supported.")
        return self.FIELDS[key]

    # The fields that hold a flag or a time; ids go through may_match; every other one is text.
    FLAGS = frozenset({"is_active"})
    TIMES = frozenset({"date_joined", "created_at", "updated_at"})
    IDS = frozenset({"pk", "user_id", "scim_id"})

    def may_match(self, field: str, value) -> bool:
        """False for a value no row can have (an id of the wrong form), which the database is not asked."""
        return True

    def value_for(self, field: str, value):
        """The filter's value as the field holds it; InvalidFilterException for a value of the
        wrong kind (userName eq true, meta.created gt 5), which the database is never asked."""
        if field in self.IDS:
            return value
        if field in self.FLAGS:
            if not isinstance(value, bool):
                raise InvalidFilterException(detail="Compare active with true or false.")
            return value
        if not isinstance(value, str):
            raise InvalidFilterException(detail="Compare this attribute with a quoted string.")
        if field not in self.TIMES:
            return value
        when = parse_datetime(value)
        if when is None:
            raise InvalidFilterException(detail="Compare a time with an ISO 8601 date and time, quoted.")
        try:
            return (when if timezone.is_aware(when) else timezone.make_aware(when)).astimezone(dt_timezone.utc)
        except OverflowError:
            raise InvalidFilterException(detail="That time is outside the calendar once in UTC.") from None

    def visit_comparison(self, node: Comparison) -> Q:
        field, ignore_case = self.field(node.attr_path)
        if node.op == CompareOperator.ne:
            return ~self.visit_comparison(Comparison(attr_path=node.attr_path, op=CompareOperator.eq, value=node.value))
        lookup = _LOOKUPS[node.op]
        if isinstance(node.value, str) and len(node.value) > MAX_VALUE_CHARS:
            return Q(pk__in=[])
        if not self.may_match(field, node.value):
            return Q(pk__in=[])
        value = self.value_for(field, node.value)
        if ignore_case and lookup in {"exact", "contains", "startswith", "endswith"}:
            lookup = "i" + lookup
        return Q(**{f"{field}__{lookup}": value})

    def visit_present(self, node: Present) -> Q:
        field, _ = self.field(node.attr_path)
        present = Q(**{f"{field}__isnull": False})
        # Only text is "" when empty: an id, a flag or a time compared with "" is an error.
        return present if field in self.IDS | self.FLAGS | self.TIMES else present & ~Q(**{field: ""})

    def visit_not(self, node: Not) -> Q:
        return ~self.visit(node.expr)

    def visit_logical_expr(self, node: LogicalExpr) -> Q:
        terms = [self.visit(term) for term in node.terms]
        combined = terms[0]
        for term in terms[1:]:
            combined = (combined & term) if node.op == LogicalOperator.and_ else (combined | term)
        return combined


class _ToQuery(QueryFromFilter):
    """A parsed filter as a Django Q over people."""

    FIELDS = _FIELDS

    def may_match(self, field: str, value) -> bool:
        return field != "pk" or user_pk(value) is not None

    def visit_value_path(self, node: ValuePath) -> Q:
        raise InvalidFilterException(detail="Filters in brackets (valuePath) are not supported; filter on emails.value.")


def people_matching(filter_text: str | None) -> QuerySet:
    """People a SCIM filter selects, oldest first (pages must not shift). Raises
    InvalidFilterException for a filter that does not parse or names what is not kept."""
    people = get_user_model().objects.select_related("directory_entry").order_by("pk")
    # A person the directory deleted is gone as far as SCIM is concerned.
    people = people.exclude(directory_entry__deleted_at__isnull=False)
    if filter_text:
        people = people.filter(_ToQuery().visit(ScimFilter(filter_text).ast))
    return people


def as_scim_user(person, location: str) -> ScimUser:
    entry = getattr(person, "directory_entry", None)
    full_name = person.get_full_name()
    return ScimUser(
        id=str(person.pk),
        external_id=(entry.external_id or None) if entry else None,
        user_name=person.username,
        name=Name(given_name=person.first_name or None, family_name=person.last_name or None, formatted=full_name or None),
        display_name=full_name or person.username,
        active=person.is_active,
        emails=[Email(value=person.email, type="work", primary=True)] if person.email else None,
        meta=Meta(resource_type="User", created=person.date_joined, location=location),
    )


def person_fields(user: ScimUser) -> dict:
    """What the portal keeps of a SCIM User: the primary (or first) email, the name parts,
    the external id and whether they are active (None: not said)."""
    emails = user.emails or []
    email = next((e for e in emails if e.primary), emails[0] if emails else None)
    return {
        "username": user.user_name or "",
        "external_id": user.external_id or "",
        "first_name": (user.name.given_name if user.name else None) or "",
        "last_name": (user.name.family_name if user.name else None) or "",
        "email": (str(email.value) if email and email.value else ""),
        "active": user.active,
    }


def service_provider_config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[AuthenticationScheme(
            type="oauthbearertoken", name="Directory sync token", primary=True,
            description="A personal token of a security admin, created for directory sync: Authorization: Bearer nhip_...",
        )],
    )


def resource_types() -> list[ResourceType]:
    return [ResourceType.from_resource(ScimUser), ResourceType.from_resource(Group)]


def schemas() -> list:
    return [User.to_schema(), EnterpriseUser.to_schema(), Group.to_schema()]
