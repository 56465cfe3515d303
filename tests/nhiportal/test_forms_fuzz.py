"""Whatever a security admin types into any form of any page, the page answers with a reason,
never a 500.

Over the demo portal, every page a security admin opens (every route, with real objects'
ids) is read for its forms, and each form is sent back (with the page's own CSRF token, where
htmx does not send it): with every field empty; with every field wrong for its kind (text far
past any length, numbers out of range, impossible dates and offsets past what PostgreSQL
takes, choices the select does not offer, control characters and markup); and with each field
wrong alone, the others as the page filled them, so the wrong one gets past the form's other
checks. Forms that sign out are left alone. An owner walks the pages of their own objects too.
"""

from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.routes import fill, fillings, session_routes

pytestmark = pytest.mark.django_db
LEFT_ALONE = ("/accounts/logout/",)
WRONG = {
    "number": "99999999999999999999999",
    "date": "2026-13-45",
    "datetime-local": "2026-11-20T10:00-21:14",  # a past instant, at an offset PostgreSQL refuses
    "email": "not an address@",
    "url": "javascript:alert(1)",
    "checkbox": "maybe",
    "select": "not-one-of-the-choices",
}
WRONG_TEXT = "\u202e<script>alert(1)</script>\t" + "é" * 6000


# A value each kind of field takes, for a field the page leaves empty.
PLAUSIBLE = {
    "number": "1",
    "date": "2027-01-15",
    "datetime-local": "2026-11-20T10:00",
    "email": "grace@example.com",
    "url": "https://siem.example.com/hooks/nhi",
    "checkbox": "on",
}


class Form:
    def __init__(self, action: str):
        self.action = action
        self.kinds: dict[str, str] = {}  # field -> kind (input type, select, text)
        self.values: dict[str, str] = {}  # what the page filled in, or a plausible value
        self.hidden: dict[str, str] = {}


class Forms(HTMLParser):
    """The POST forms of a page, each field with its kind and the value the page gives it."""

    def __init__(self):
        super().__init__()
        self.forms: list[Form] = []
        self._form = self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        form, name = self._form, attrs.get("name")
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._form = Form(attrs.get("action") or "")
            self.forms.append(self._form)
        elif form is None:
            return
        elif tag == "option" and self._select and attrs.get("value"):
            if "selected" in attrs or not form.values.get(self._select):
                form.values[self._select] = attrs["value"]
        elif not name:
            return
        elif tag == "input" and attrs.get("type") == "hidden":
            form.hidden[name] = attrs.get("value") or ""
        elif tag == "input" and attrs.get("type") not in ("submit", "button", "file"):
            kind = form.kinds[name] = attrs.get("type") or "text"
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                form.values.setdefault(name, "")
            else:
                form.values[name] = attrs.get("value") or PLAUSIBLE.get(kind, "fuzzed")
        elif tag == "select":
            form.kinds[name], self._select = "select", name
        elif tag == "textarea":
            form.kinds[name], self._textarea = "text", name
            form.values[name] = ""

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form.values[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            if self._form is not None and not self._form.values[self._textarea].strip():
                self._form.values[self._textarea] = "fuzzed"
            self._textarea = None


def _wrong(kind: str) -> str:
    return WRONG.get(kind, WRONG_TEXT)


def sendings(form: Form):
    """(what, data): every field empty; every field wrong; and each field wrong alone, the
    others as the page filled them (or plausibly), so the wrong one reaches the code past the
    form's other checks."""
    yield "empty", {**form.hidden, **{name: "" for name in form.kinds}}
    yield "all wrong", {**form.hidden, **{name: _wrong(kind) for name, kind in form.kinds.items()}}
    for name, kind in form.kinds.items():
        yield f"{name} wrong", {**form.hidden, **form.values, name: _wrong(kind)}


# The demo's security admin meets every form; an owner meets the owners' own (attesting,
# claiming, asking for access, letting another identity act for theirs), on their objects.
@pytest.mark.parametrize("username, reach", [("sam", 300), ("alice", 130)])  # sendings: 391 and 154
def test_every_form_answers_empty_and_wrong_input_without_a_server_error(portal, username, reach):
    person = get_user_model().objects.get(username=username)
    client = Client()
    client.force_login(person)
    problems, sent = [], 0
    for route in session_routes():
        if route.startswith("/api/"):
            continue  # the API has its own fuzzing, from its OpenAPI description
        for values in fillings(route, person if username == "alice" else None):
            path = fill(route, values)
            page = client.get(path)
            if page.status_code != 200 or not page.get("Content-Type", "").startswith("text/html"):
                continue
            parser = Forms()
            parser.feed(page.content.decode())
            for form in parser.forms:
                target = urljoin(path, form.action) if form.action else path
                if target.startswith(LEFT_ALONE):
                    continue
                for what, data in sendings(form):
                    response = client.post(target, {k: v for k, v in data.items() if v != ""} if what != "empty" else data)
                    sent += 1
                    if response.status_code >= 500:
                        problems.append(f"POST {target} from {path}, {what}: {response.status_code}")
    assert sent >= reach  # the walk reached the forms
    assert not problems, "\n".join(problems)
