"""What people type (names, reasons, notes) reaches a chat channel as text: no @channel pings,
no links that show one address and go to another, no forged second line. Only the portal's own
link stays a link."""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from inventory.services import identity_activate
from tokens.exposures import exposure_dismiss, exposure_report_credential
from nhiportal.webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

SLACK_PHISH = "<!channel> urgent: <https://evil.example/nhi-login|NHI Portal: sign in…>"
ZWSP = "\u200b"


def chat_texts(receiver):
    return [json.loads(body)["text"] for _headers, body in receiver.requests]


def suspend_through_the_page(client, identity, reason):
    response = client.post(
        reverse("inventory:identity-suspend", args=[identity.pk]), {"version": identity.version, "reason": reason},
    )
    assert response.status_code == 302


def test_slack_control_sequences_in_a_name_and_a_reason_arrive_escaped_and_the_portals_link_stays(
    receiver, sam, alice, client_for, make_identity,
):
    endpoint_create(actor=sam, url=receiver.url, categories=["identities"], format="chat")
    identity = identity_activate(actor=alice, identity=make_identity(alice, name="<!here> bot & <@U024BE7LH>"))
    suspend_through_the_page(client_for(alice), identity, SLACK_PHISH)
    call_command("deliver_webhooks", stdout=open("/dev/null", "w"))
    line = chat_texts(receiver)[-1]
    # Slack (and Google Chat, and Mattermost's Slack conversion) reads only "<...>" as markup:
    # none of it is left from the owner's words, and they still read as typed.
    assert line.replace(ZWSP, "") == (
        "NHI Portal: alice · Identity: suspend · &lt;!here&gt; bot &amp; &lt;@U024BE7LH&gt; "
        "(&lt;!channel&gt; urgent: &lt;https://evil.example/nhi-login|NHI Portal: sign in…&gt;) "
        f"http://testserver/identities/{identity.pk}/"
    )
    assert "<" not in line and ">" not in line


def test_markdown_links_mentions_and_line_breaks_in_a_reason_arrive_as_one_line_of_text(
    receiver, sam, alice, client_for, make_identity,
):
    # Mattermost and Teams read Markdown, and Mattermost pings for "@channel" whatever the sender asks.
    endpoint_create(actor=sam, url=receiver.url, categories=["identities"], format="chat")
    identity = identity_activate(actor=alice, identity=make_identity(alice, name="[billing-bot]"))
    reason = (
        "@channel key leaked, rotate at [NHI Portal: sign in](https://evil.example/nhi-login) ![](https://evil.example/px.gif)"
        "\r\nNHI Portal: sam identity.offboard prod-db &lt;ok&gt;"
    )
    suspend_through_the_page(client_for(alice), identity, reason)
    call_command("deliver_webhooks", stdout=open("/dev/null", "w"))
    line = chat_texts(receiver)[-1]
    assert "\n" not in line and "\r" not in line
    assert "](" not in line and "@channel" not in line
    # The zero-width spaces that break the markup are all that was added: it reads as typed.
    assert line.replace(ZWSP, "") == (
        "NHI Portal: alice · Identity: suspend · [billing-bot] (@channel key leaked, rotate at "
        "[NHI Portal: sign in](https://evil.example/nhi-login) ![](https://evil.example/px.gif) "
        "NHI Portal: sam identity.offboard prod-db &amp;lt;ok&amp;gt;) "
        f"http://testserver/identities/{identity.pk}/"
    )


def test_a_long_reason_is_cut_before_it_is_escaped_so_no_entity_is_cut_in_half(receiver, sam, alice, client_for, make_identity):
    endpoint_create(actor=sam, url=receiver.url, categories=["identities"], format="chat")
    identity = identity_activate(actor=alice, identity=make_identity(alice, name="long-reason-bot"))
    suspend_through_the_page(client_for(alice), identity, "<" * 300)
    call_command("deliver_webhooks", stdout=open("/dev/null", "w"))
    assert f"({'&lt;' * 200}) http://testserver/identities/{identity.pk}/" in chat_texts(receiver)[-1]



def test_a_leak_report_reads_by_its_label_and_names_the_identity_whose_name_and_reason_ping_no_one(
    receiver, sam, alice, make_identity,
):
    # The drill's line was "NHI Portal: alice exposure.report Workload key exposed http://…": a code, and no agent named.
    endpoint_create(actor=sam, url=receiver.url, categories=["security"], format="chat")
    identity = identity_activate(actor=alice, identity=make_identity(alice, name="@here <!channel> pay-bot"))
    exposure = exposure_report_credential(
        actor=alice, credential=identity.credentials.get(), where_found="a public gist",
    )
    exposure_dismiss(actor=sam, exposure=exposure, reason="<!here> drill INC-7 @channel <https://evil.example|ok>")
    call_command("deliver_webhooks", stdout=open("/dev/null", "w"))
    report, dismissal = chat_texts(receiver)[-2:]
    link = f"http://testserver/identities/{identity.pk}/"
    what = f"{exposure.get_kind_display()} exposed"
    assert report.replace(ZWSP, "") == f"NHI Portal: alice · Leak report: filed · @here &lt;!channel&gt; pay-bot: {what} {link}"
    assert dismissal.replace(ZWSP, "") == (
        f"NHI Portal: sam · Leak report: dismiss · @here &lt;!channel&gt; pay-bot: {what} "
        f"(&lt;!here&gt; drill INC-7 @channel &lt;https://evil.example|ok&gt;) {link}"
    )
    for line in (report, dismissal):
        assert "<" not in line and ">" not in line and "@here" not in line and "@channel" not in line
