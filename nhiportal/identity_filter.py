"""The identity filter of the audit and decision logs: people type a name, links carry the id."""

import re
import unicodedata
import uuid

import django_filters
from django import forms
from django.apps import apps
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Lower


def name_key(name: str) -> str:
    """A name as the portal stores it: Unicode NFKC (a full-width or ligature spelling is
    the plain one), without surrounding spaces."""
    return unicodedata.normalize("NFKC", name or "").strip()


def identity_names(ids, *, among: QuerySet | None = None) -> dict:
    """Identity id -> name, for pages that name each event's or decision's identity (one query
    a page). Callers pass the ids of rows the person may already see, or `among`: the
    identities the person may see, outside which an id stays unnamed."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    identities = apps.get_model("inventory", "AIIdentity").objects.all() if among is None else among
    return dict(identities.filter(pk__in=ids).values_list("pk", "name"))


def identities_named(identities: QuerySet, name: str) -> QuerySet:
    """The identities whose name is `name` (as name_key spells it) regardless of case.

    Lower on both sides is the rule of the unique constraint on names, and its index answers
    it. A name with letters beyond ASCII is also matched case-insensitively by a regular
    expression: SQLite's LOWER folds ASCII letters only, so "PÄY" and "päy" differ there.
    """
    name = name_key(name)
    same = Q(folded_name=Lower(Value(name)))
    if not name.isascii():
        same |= Q(name__iregex=f"^{re.escape(name)}$")
    return identities.alias(folded_name=Lower("name")).filter(same)


class IdentityFilter(django_filters.CharFilter):
    """Rows about one identity, named by its id (its client_id) or by its name, in any case.

    A name matches one identity or none: names are unique regardless of case, and should
    older data still hold two that differ only in case of letters beyond ASCII, the name is
    ambiguous and matches nothing (the id tells them apart), so one trail never shows as
    another's. A name no identity has matches nothing, as an unknown id does. Looked up by
    name (the audit log imports no app); callers narrow the rows by their own gate first.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Identity")
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": "name or client_id"}))
        kwargs.setdefault("help_text", "An identity's name or its client_id.")
        super().__init__(field_name="identity_id", max_length=200, **kwargs)

    def filter(self, qs, value):
        value = (value or "").strip()
        if not value:
            return qs
        try:
            return qs.filter(identity_id=uuid.UUID(value))
        except ValueError:
            identities = apps.get_model("inventory", "AIIdentity").objects.all()
            matches = list(identities_named(identities, value).values_list("pk", flat=True)[:2])
            return qs.filter(identity_id=matches[0]) if len(matches) == 1 else qs.none()
