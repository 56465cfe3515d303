"""The identity filter of the audit and decision logs: people type a name, links carry the id."""

import uuid

import django_filters
from django import forms
from django.apps import apps


class IdentityFilter(django_filters.CharFilter):
    """Rows about one identity, named by its id (its client_id) or by its exact name, any case.

    A name no identity has matches nothing, as an unknown id does. Looked up by name (the
    audit log imports no app); callers narrow the rows by their own gate first.
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
            named = apps.get_model("inventory", "AIIdentity").objects.filter(name__iexact=value)
            return qs.filter(identity_id__in=named.values("pk"))
