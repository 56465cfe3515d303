"""Plumbing every app's pages share."""

from django.test import Client


def test_the_browsers_icon_request_finds_the_logo_not_a_404(client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 301
    assert "img/logo" in answer["Location"] and answer["Location"].endswith(".svg")
    icon = Client().get(answer["Location"])
    assert icon.status_code == 200 and icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(icon.streaming_content if icon.streaming else [icon.content])


def test_the_icon_takes_no_writes(client):
    assert client.post("/favicon.ico").status_code == 405
