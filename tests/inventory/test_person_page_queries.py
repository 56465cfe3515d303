"""A person's page lists the identities they own a page at a time, counting them all, with a
fixed number of questions however many they own."""

import pytest

from .test_queries import query_count


@pytest.mark.parametrize("persona", ["rita", "carol", "sam"])
def test_the_person_page_runs_as_many_queries_for_30_identities_as_for_1(
    persona, request, alice, bob, make_identity, client_for, django_assert_max_num_queries
):
    client = client_for(request.getfixturevalue(persona))
    page = f"/users/{alice.pk}/"
    make_identity(alice, name="agent-000", backups=[bob])
    client.get(page)  # warm per-process caches (content types)
    few = query_count(client, page)
    for n in range(1, 30):  # every other one shared with bob: the rest are orphaned if alice leaves
        make_identity(alice, name=f"agent-{n:03d}", backups=[bob] if n % 2 == 0 else [])
    with django_assert_max_num_queries(few):
        response = client.get(page)
    assert [i.name for i in response.context["owned"]] == [f"agent-{n:03d}" for n in range(25)]
    assert "30 identities in service. <strong>15</strong> have no other active owner." in response.content.decode()
    rest = client.get(page, {"page": 2}).context["owned"]
    assert [i.name for i in rest] == [f"agent-{n:03d}" for n in range(25, 30)]


def test_the_deactivation_warning_counts_every_identity_it_would_orphan(alice, make_identity, sam, client_for):
    for n in range(30):
        make_identity(alice, name=f"agent-{n:03d}")
    page = client_for(sam).get(f"/users/{alice.pk}/").content.decode()
    assert "30 identities would be left without an active owner" in page


def test_the_person_page_counts_the_sessions_it_lists_without_asking_again(settings, sam, alice, client_for, django_assert_max_num_queries):
    settings.NHI = {**settings.NHI, "PAGE_SIZE": 2}  # more open sessions than a page of anything shows
    client = client_for(sam)
    page = f"/users/{alice.pk}/"
    client_for(alice)  # one browser signed in
    client.get(page)  # warm per-process caches (content types)
    few = query_count(client, page)
    for _ in range(4):
        client_for(alice)
    with django_assert_max_num_queries(few) as captured:
        response = client.get(page)
    # The session middleware reads sam's own session by its key; alice's are read once, listed and counted.
    hers = [q["sql"] for q in captured.captured_queries if f'"people_portalsession"."user_id" = {alice.pk}' in q["sql"]]
    assert len(hers) == 1 and "COUNT(" not in hers[0]
    assert response.context["open_sessions"] == len(response.context["sessions"]) == 5
    assert "signed in on 5 browsers" in response.content.decode()


def test_a_reader_who_cannot_end_sessions_still_sees_how_many_are_open(rita, alice, client_for):
    for _ in range(3):
        client_for(alice)
    response = client_for(rita).get(f"/users/{alice.pk}/")
    assert response.context["sessions"] == [] and "signed in on 3 browsers" in response.content.decode()
