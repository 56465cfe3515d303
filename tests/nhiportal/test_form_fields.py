"""A field's help and errors are where its input says they are: Django's widgets name
"<id>_helptext" and "<id>_error" in aria-describedby, and a screen reader reads only what it
finds under those ids."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django import forms
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from tests.conftest import PASSWORD


class _Ids(HTMLParser):
    """Each element's id, and the ids each element's aria-describedby names."""

    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.described: dict[str, list[str]] = {}  # the describing element (name or id) -> ids it names
        self.open_tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.append(attrs["id"])
        if attrs.get("aria-describedby"):
            self.described[attrs.get("name") or attrs.get("id") or tag] = attrs["aria-describedby"].split()


def parsed(html: str) -> _Ids:
    ids = _Ids()
    ids.feed(html)
    return ids


def dangling(html: str) -> dict[str, list[str]]:
    """What each aria-describedby names that is not on the page exactly once."""
    ids = parsed(html)
    return {
        who: missing
        for who, named in ids.described.items()
        if (missing := [n for n in named if ids.ids.count(n) != 1])
    }


class Sample(forms.Form):
    name = forms.CharField(help_text="What people call it.")
    note = forms.CharField()
    rules = forms.CharField(help_text=mark_safe("<ul><li>One rule.</li><li>Another.</li></ul>"))
    colours = forms.MultipleChoiceField(
        choices=[("red", "Red"), ("blue", "Blue")], widget=forms.CheckboxSelectMultiple, help_text="Pick one or more."
    )

    def clean_note(self):
        raise forms.ValidationError(["Too short.", "Not a sentence."])


def test_a_field_with_help_and_an_error_is_described_by_both():
    html = render_to_string("partials/form.html", {"form": Sample(data={"note": "x"})})
    described = parsed(html).described
    assert described["name"] == ["id_name_helptext", "id_name_error"]
    assert '<div class="help" id="id_name_helptext">What people call it.</div>' in html
    assert '<div class="error" id="id_name_error"><p>This field is required.</p></div>' in html
    assert dangling(html) == {}


def test_several_errors_share_the_one_id_the_input_names():
    html = render_to_string("partials/form.html", {"form": Sample(data={"note": "x"})})
    assert parsed(html).described["note"] == ["id_note_error"]
    assert '<div class="error" id="id_note_error"><p>Too short.</p><p>Not a sentence.</p></div>' in html


def test_a_field_without_errors_is_described_by_its_help_alone():
    html = render_to_string("partials/form.html", {"form": Sample()})
    assert parsed(html).described["name"] == ["id_name_helptext"]
    assert "_error" not in html and dangling(html) == {}


def test_help_that_is_a_list_is_not_put_in_a_paragraph():
    html = render_to_string("partials/form.html", {"form": Sample()})
    assert '<div class="help" id="id_rules_helptext"><ul><li>One rule.</li>' in html
    assert '<p class="help">' not in html


def test_a_group_of_boxes_is_a_fieldset_named_by_its_legend_and_described_as_django_says():
    html = render_to_string("partials/form.html", {"form": Sample(data={})})
    assert '<fieldset class="field has-error" id="field-id_colours" aria-describedby="id_colours_helptext id_colours_error">' in html
    assert "<legend>Colours" in html and '<label for="">' not in html
    assert dangling(html) == {}


def test_the_password_rules_are_a_list_in_the_help_and_each_error_is_found(alice, client_for):
    client = client_for(alice)
    page = client.get("/accounts/password/").content.decode()
    assert '<div class="help" id="id_new_password1_helptext"><ul>' in page
    assert '<div class="crumbs">Account / Password</div>' in page and ">Cancel</a>" in page
    refused = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "short", "new_password2": "other"})
    assert refused.status_code == 200 and 'id="id_new_password2_error"' in refused.content.decode()
    assert dangling(refused.content.decode()) == {}


@pytest.mark.parametrize("path, data", [
    ("/identities/new/", {"name": ""}),
    ("/exposures/report/", {"token": "not-a-token"}),
])
def test_every_description_an_invalid_form_names_is_on_its_page(path, data, alice, client_for):
    response = client_for(alice).post(path, data)
    assert response.status_code == 400 and b'class="field has-error"' in response.content
    assert dangling(response.content.decode()) == {}


def test_the_evidence_pack_day_is_described_by_its_help_and_its_error(client_for, carol):
    tomorrow = timezone.localdate() + timedelta(days=1)
    html = client_for(carol).get("/compliance/evidence-pack.zip", {"since": tomorrow.isoformat()}).content.decode()
    assert parsed(html).described["since"] == ["id_since_helptext", "id_since_error"]
    assert dangling(html) == {}
