"""Whatever a security admin types into any form of any page, the page answers with a reason,
never a 500.

Over the demo portal, every page a security admin opens (every route, with real objects'
ids) is read for its forms; each form is sent back twice (with the page's own CSRF token, where htmx does not send it):
once with every field empty, once with every field wrong for its kind (text far past any
length, numbers out of range, impossible dates and offsets past what PostgreSQL takes, choices
the select does not offer, control characters and markup). Forms that sign out are left alone.
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


class Forms(HTMLParser):
    """The POST forms of a page: (action, {field: kind}, hidden values)."""

    def __init__(self):
        super().__init__()
        self.forms, self._current = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._current = (attrs.get("action") or "", {}, {})
            self.forms.append(self._current)
        elif self._current is not None and attrs.get("name"):
            _action, fields, hidden = self._current
            if tag == "input" and attrs.get("type") == "hidden":
                hidden[attrs["name"]] = attrs.get("value") or ""
            elif tag == "input" and attrs.get("type") not in ("submit", "button", "file"):
                fields[attrs["name"]] = attrs.get("type") or "text"
            elif tag in ("select", "textarea"):
                fields[attrs["name"]] = "select" if tag == "select" else "text"

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def _sent(fields: dict, hidden: dict, wrong: bool) -> dict:
    data = dict(hidden)
    for name, kind in fields.items():
        data[name] = (WRONG.get(kind, WRONG_TEXT) if wrong else "")
    return data


def test_every_form_answers_empty_and_wrong_input_without_a_server_error(portal):
    client = Client()
    client.force_login(get_user_model().objects.get(username="sam"))  # the demo's security admin
    problems, sent = [], 0
    for route in session_routes():
        if route.startswith("/api/"):
            continue  # the API has its own fuzzing, from its OpenAPI description
        for values in fillings(route):
            path = fill(route, values)
            page = client.get(path)
            if page.status_code != 200 or not page.get("Content-Type", "").startswith("text/html"):
                continue
            parser = Forms()
            parser.feed(page.content.decode())
            for action, fields, hidden in parser.forms:
                target = urljoin(path, action) if action else path
                if target.startswith(LEFT_ALONE):
                    continue
                for wrong in (False, True):
                    response = client.post(target, _sent(fields, hidden, wrong))
                    sent += 1
                    if response.status_code >= 500:
                        problems.append(f"POST {target} from {path}, {'wrong' if wrong else 'empty'} fields: {response.status_code}")
    assert sent >= 120  # the walk reached the forms: about 70 of them, twice each
    assert not problems, "\n".join(problems)
