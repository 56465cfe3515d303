"""Every task, newest first (the tasks list of those who see every identity, and its export),
is read off an index: a page never sorts the whole task table, which grows by a task a token."""

from datetime import timedelta

from django.utils import timezone

from tests.query_plans import plan_of, sorts
from tokens import selectors


def test_everyones_tasks_come_newest_first_off_an_index_without_sorting_the_table(sam):
    plan = plan_of(selectors.task_list(user=sam)[:25])
    assert "task_opened_idx" in plan
    assert not sorts(plan)


def test_tasks_opened_since_a_day_are_found_on_the_same_index(sam):
    """Found, not scanned for: the database may still sort the day's tasks (PostgreSQL does,
    when it expects few), but no longer every task there is."""
    since = timezone.now() - timedelta(days=1)
    plan = plan_of(selectors.task_list(user=sam).filter(opened_at__gte=since)[:25])
    assert "task_opened_idx" in plan
