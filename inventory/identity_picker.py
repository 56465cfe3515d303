"""Choosing an identity in a form: a type-ahead picker instead of a select of the inventory.

A select of every identity a security admin may grant sends 50,000 options with the page. The
picker (people_picker.PeoplePicker's widget and script) renders the identity chosen as a chip,
and asks `identity_search` for matches as the user types, among the identities of the form's
purpose: a form names its purpose and the search answers within the same identities, so it
offers only what the form accepts and what the user may see. The field still checks what is
posted against its queryset.

Without script the search box is a plain text box: the server takes a name (in any case) or a
client_id, and says next to the field when none or several identities answer to it.
"""

from django import forms
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from nhiportal.identity_filter import identities_named, name_key
from nhiportal.ids import as_uuid

from . import visibility
from .models import AIIdentity, Status
from .people_picker import PeoplePicker

# Grant forms offer the identities in service the person sees (security admins: all of them);
# access request forms those the person may change: owners and security admins ask for access.
GRANTABLE = "grantable"
REQUESTABLE = "requestable"
_PURPOSE_ACTIONS = {GRANTABLE: visibility.VIEW, REQUESTABLE: visibility.CHANGE}

SEARCH_LIMIT = 10
MAX_QUERY_LENGTH = 120  # an identity's longest name
# A client_id is matched from its start once this much of it is typed: fewer hex digits would
# offer identities whose ids merely begin like a word ("bad", "cafe").
_CLIENT_ID_PREFIX = 6
_HEX = frozenset("0123456789abcdefABCDEF-")
# Names offered when a typed name is no identity's, but part of some.
_SUGGESTIONS = 5
NOT_FOUND = "No identity you may choose has that name or client_id."


def identities_for(user, purpose: str) -> QuerySet | None:
    """The identities a form of this purpose offers the user; None for an unknown purpose."""
    action = _PURPOSE_ACTIONS.get(purpose)
    if action is None:
        return None
    return visibility.restrict(AIIdentity.objects.exclude(status=Status.OFFBOARDED), user, action)


def identities_matching(query: str, among: QuerySet) -> tuple[list[AIIdentity], bool]:
    """The identities of `among` whose name holds the query (in any case), or whose client_id
    starts with it; names that start with it first, then by name. At most SEARCH_LIMIT, and
    whether there were more."""
    query = query.strip()
    if not query:
        return [], False
    matches = Q(name__icontains=query)
    if len(query) >= _CLIENT_ID_PREFIX and set(query) <= _HEX:
        matches |= Q(id__istartswith=query)
    found = list(
        among.filter(matches)
        .annotate(starts=Case(When(name__istartswith=query, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("starts", "name")[: SEARCH_LIMIT + 1]
    )
    return found[:SEARCH_LIMIT], len(found) > SEARCH_LIMIT


def search_result(identity: AIIdentity) -> dict:
    """What the search answers of one identity: its id, name and client_id, nothing more."""
    return {"id": str(identity.pk), "label": identity.name, "client_id": identity.client_id}


class IdentityPicker(PeoplePicker):
    """One identity's chip and a search box that also posts what is typed in it (as
    `<name>_typed`), so the form works without script."""

    detail = "client_id"
    more_note = "More identities match: type more of the name."
    none_note = "No other identity you may choose matches."
    parse = staticmethod(as_uuid)

    def __init__(self, attrs=None, *, purpose: str):
        super().__init__(attrs, search="inventory:identity-search")
        self.purpose = purpose

    @staticmethod
    def typed_name(name: str) -> str:
        return f"{name}_typed"

    def value_from_datadict(self, data, files, name):
        # Text typed and not picked wins over the chip: it is what the person did last (and,
        # without script, the only way to choose another identity than the one preselected).
        typed = (data.get(self.typed_name(name)) or "").strip()
        return typed or data.get(name)

    def value_omitted_from_data(self, data, files, name):
        return name not in data and self.typed_name(name) not in data

    def search_url(self) -> str:
        return f"{reverse(self.search)}?{urlencode({'purpose': self.purpose})}"

    def placeholder(self) -> str:
        return "Type a name or client_id"

    def search_box(self, name, value, chosen) -> tuple[str, str]:
        # A value that is no identity offered is text the person typed: it comes back to be corrected.
        text = "" if value is None or chosen else str(value)
        return format_html(' name="{}" value="{}"', self.typed_name(name), text), ""


class IdentityChoiceField(forms.ModelChoiceField):
    """An identity of the queryset, posted as its id (the picker's chip) or typed as its name
    or client_id."""

    def __init__(self, queryset, *, purpose: str, **kwargs):
        kwargs.setdefault("help_text", "Type part of its name, or its client_id, and choose it.")
        super().__init__(queryset, widget=IdentityPicker(purpose=purpose), empty_label=None, **kwargs)

    def label_from_instance(self, obj):
        return obj.name

    def to_python(self, value):
        text = name_key(str(value)) if value is not None else ""
        if not text:
            return None
        if len(text) > MAX_QUERY_LENGTH:  # longer than any name or client_id: no query needed
            raise forms.ValidationError(NOT_FOUND, code="invalid_choice")
        key = as_uuid(text)
        found = {i.pk: i for i in identities_named(self.queryset, text)[:2]}
        if key is not None:
            found.update({i.pk: i for i in self.queryset.filter(pk=key)})
        if len(found) == 1:
            return next(iter(found.values()))
        if found:
            several = ", ".join(f"{i.name} ({i.client_id})" for i in found.values())
            raise forms.ValidationError(
                f"Several identities answer to that: {several}. Type the client_id of the one you mean.", code="ambiguous",
            )
        raise forms.ValidationError(self._not_found(text), code="invalid_choice")

    def _not_found(self, text: str) -> str:
        # Only names of the queryset, which the person may choose (hence see), are suggested.
        near = list(self.queryset.filter(name__icontains=text).order_by("name").values_list("name", flat=True)[: _SUGGESTIONS + 1])
        if not near:
            return NOT_FOUND
        more = " and more" if len(near) > _SUGGESTIONS else ""
        return (
            f"No identity you may choose is named exactly that. Names that hold it: {', '.join(near[:_SUGGESTIONS])}{more}. "
            "Type one in full, or its client_id."
        )
