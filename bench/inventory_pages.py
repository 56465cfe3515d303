"""Inventory pages at scale: list (first page, filtered, searched), identity page, unused
identities and the workload credentials list; the forms that choose an identity (grant, request
access) and their picker's search; and the compliance page, which computes every control's
evidence over the whole inventory.

Target (issue #2): with 50,000 identities each answers in under 150 ms median on this machine.
Requests go over HTTP to gunicorn, logged in as a security admin (sees all rows: the worst case)
and as an owner (the django-guardian path).
"""

import re
import time

import requests

from .harness import summarize

DEMO_PASSWORD = "demo-pass-2026"


def login(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise RuntimeError(f"login as {username} failed: {response.status_code}")
    return session


def timed(session: requests.Session, url: str, rounds: int) -> dict:
    for _ in range(3):  # warm caches and connections
        session.get(url).raise_for_status()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = session.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return summarize(samples)


def run(base: str, *, rounds: int = 40) -> dict:
    results = {}
    for username in ("sam", "alice"):
        session = login(base, username)
        listing = session.get(f"{base}/identities/?q=agent").text
        ids = re.findall(r'href="/identities/([0-9a-f-]{36})/"', listing)
        if not ids:
            raise RuntimeError(f"{username} sees no identities to benchmark")
        pages = {
            "list: first page": "/identities/",
            "list: filtered (status=active, kind=agent)": "/identities/?status=active&kind=agent",
            "list: searched (q=invoice)": "/identities/?q=invoice",
            "list: sorted by attestation due, page 3": "/identities/?sort=attestation_due&page=3",
            "identity page": f"/identities/{ids[0]}/",
            "unused identities, first page": "/identities/unused/",
            "workload credentials, first page": "/credentials/",
            # Forms that choose an identity send a picker, not every identity as an option.
            "request access form": "/access-requests/new/",
            "identity picker search (q=invoice)": "/identities/search/?purpose=requestable&q=invoice",
        }
        if username == "sam":  # security admins grant
            pages["new grant form"] = "/grants/new/"
            pages["identity picker search for a grant (q=invoice)"] = "/identities/search/?purpose=grantable&q=invoice"
        for label, path in pages.items():
            results[f"{username} · {label}"] = timed(session, base + path, rounds)
    # No stated target: reported so a slow evidence query shows up here first.
    results["carol · compliance: every control's live evidence"] = timed(login(base, "carol"), base + "/compliance/", 10)
    return results
