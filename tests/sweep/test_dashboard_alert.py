"""The security admin's dashboard sums up stalled background work rather than listing every
step: a sweep never scheduled is one sentence, with the way to the background work page."""

import io

import pytest
from django.core.management import call_command

from nhiportal.sweep.models import SweepStep
from nhiportal.sweep.steps import STEPS

pytestmark = pytest.mark.django_db


def _alert(html: str) -> str:
    start = html.index('aria-label="Background work"')
    return html[start:html.index("</section>", start)]


def test_a_sweep_that_never_ran_is_one_sentence_not_every_step_name(client_for, sam):
    alert = _alert(client_for(sam).get("/").content.decode())
    assert f"{len(STEPS)} of {len(STEPS)} background steps have never run: the governance sweep is not scheduled." in alert
    assert "<code>" not in alert and 'href="/sweep/"' in alert


def test_many_stalled_steps_are_counted_by_state(client_for, sam):
    call_command("governance_sweep", stdout=io.StringIO())
    names = [step.name for step in STEPS[:7]]
    SweepStep.objects.filter(name__in=names[:4]).update(succeeded=False)
    SweepStep.objects.filter(name__in=names[4:]).delete()
    alert = _alert(client_for(sam).get("/").content.decode())
    assert f"7 of {len(STEPS)} background steps need a look (4 failed, 3 never run)." in alert
    assert "<code>" not in alert


def test_a_few_stalled_steps_are_named(client_for, sam):
    call_command("governance_sweep", stdout=io.StringIO())
    SweepStep.objects.filter(name="prune_tokens").delete()
    alert = _alert(client_for(sam).get("/").content.decode())
    assert "<code>prune_tokens</code> never run." in alert and "have never run" not in alert
