"""Choosing people in a form: a type-ahead picker instead of a list of everyone.

A select of every person stops working at a few hundred people, and sends the whole
directory to whoever opens the form. The picker renders only the people already chosen
(as removable chips, each a hidden input carrying the person's primary key, so the form
posts what a select would), and static/js/people_picker.js asks `people_search` for
matches as the user types. The field's queryset still decides who may be chosen: the
server validates every posted key against it, as it did for the select. A picker of owners
asks `owner_search` instead, which offers only people who may own (inventory/owner_roles.py).
Identities are chosen the same way (inventory/identity_picker.py, a subclass).
"""

from django import forms
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from nhiportal.ids import IdsOnly, as_id


def person_label(person) -> str:
    full = person.get_full_name()
    label = f"{full} ({person.get_username()})" if full else person.get_username()
    return label if person.is_active else f"{label}, inactive"


class PeoplePicker(forms.Widget):
    """Chips for the chosen people and a search box; `multiple` for more than one person;
    `search`: the URL name of the directory it asks (everyone active, or those who may own)."""

    # What the script shows of each result under its label, and says below the results.
    detail = "email"
    more_note = "More people match: type more of the name."
    none_note = "No one else matches."
    parse = staticmethod(as_id)

    def __init__(self, attrs=None, *, multiple: bool = False, search: str = "inventory:people-search"):
        super().__init__(attrs)
        self.multiple = multiple
        self.search = search
        self.choices = ()

    def value_from_datadict(self, data, files, name):
        if self.multiple:
            return data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        return data.get(name)

    def value_omitted_from_data(self, data, files, name):
        # Like a multiple select, a form with every chip removed posts nothing: that is a value.
        return False if self.multiple else super().value_omitted_from_data(data, files, name)

    def _chosen(self, value) -> list:
        values = value if isinstance(value, (list, tuple)) else [value]
        keys = [str(self.parse(v)) for v in values if self.parse(v) is not None]
        queryset = getattr(self.choices, "queryset", None)
        if not keys or queryset is None:
            return []
        people = {str(p.pk): p for p in queryset.filter(pk__in=keys)}
        label = self.choices.field.label_from_instance
        return [(key, label(people[key])) for key in dict.fromkeys(keys) if key in people]

    def search_url(self) -> str:
        return reverse(self.search)

    def placeholder(self) -> str:
        return "Add a person: name, username or email" if self.multiple else "Type a name, username or email"

    def search_box(self, name, value, chosen) -> tuple[str, str]:
        """The search box's own attributes, and what a page without script says: people's
        boxes post nothing (the chips do), so choosing people needs the script."""
        return "", mark_safe('<noscript><p class="help">Choosing people here needs JavaScript.</p></noscript>')

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        disabled = bool(attrs.get("disabled"))
        chosen = self._chosen(value)
        chips = format_html_join(
            "",
            '<li class="chip" data-id="{0}"><input type="hidden" name="{1}" value="{0}"><span>{2}</span>{3}</li>',
            (
                (
                    key,
                    name,
                    label,
                    ""
                    if disabled
                    else format_html('<button type="button" class="chip-remove" aria-label="Remove {}">×</button>', label),
                )
                for key, label in chosen
            ),
        )
        if disabled:
            return format_html('<div class="picker is-disabled"><ul class="picker-chips">{}</ul></div>', chips)
        input_id = attrs.get("id", f"id_{name}")
        described = format_html(' aria-describedby="{}"', attrs["aria-describedby"]) if attrs.get("aria-describedby") else ""
        box, after = self.search_box(name, value, chosen)
        return format_html(
            '<div class="picker" data-picker data-name="{name}" data-search-url="{url}" data-detail="{detail}" '
            'data-more-note="{more}" data-none-note="{none}"{multiple}>'
            '<ul class="picker-chips" aria-label="Chosen">{chips}</ul>'
            '<input type="text" id="{id}"{box} class="picker-input" autocomplete="off" spellcheck="false" '
            'placeholder="{placeholder}" role="combobox" aria-autocomplete="list" aria-expanded="false" '
            'aria-controls="{id}-results"{invalid}{described}>'
            '<ul class="picker-results" id="{id}-results" role="listbox" hidden></ul>'
            "{after}"
            "</div>",
            name=name,
            url=self.search_url(),
            detail=self.detail,
            more=self.more_note,
            none=self.none_note,
            multiple=mark_safe(" data-multiple") if self.multiple else "",
            chips=chips,
            id=input_id,
            box=box,
            placeholder=self.placeholder(),
            invalid=mark_safe(' aria-invalid="true"') if attrs.get("aria-invalid") else "",
            described=described,
            after=after,
        )


class PersonChoiceField(forms.ModelChoiceField):
    widget = PeoplePicker

    def to_python(self, value):
        # A key that is no id is refused before the queryset sees it (see IdsOnly).
        if value not in self.empty_values and as_id(value) is None:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)

    def label_from_instance(self, obj):
        return person_label(obj)


class PeopleChoiceField(IdsOnly, forms.ModelMultipleChoiceField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", PeoplePicker(multiple=True))
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj):
        return person_label(obj)


OWNER_SEARCH = "inventory:owner-search"


def owner_picker() -> PeoplePicker:
    return PeoplePicker(search=OWNER_SEARCH)


def owners_picker() -> PeoplePicker:
    return PeoplePicker(multiple=True, search=OWNER_SEARCH)
