#!/usr/bin/env python
"""`make bench`: every performance target of the issues, measured on this machine.

    .venv/bin/python bench/run.py [--only inventory,tokens,verifier,policy] [--identities 50000] [--seconds 10]
    .venv/bin/python bench/run.py --only revocation   # not in the default set: several minutes

Each benchmark gets a scratch SQLite database under bench/results/ (kept between runs, so
the 50,000-identity load happens once), talks to gunicorn over loopback like a client
would, and prints its figures next to the target. Results also go to bench/results/latest.json.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

BENCHMARKS = ["inventory", "tokens", "verifier", "policy"]


def bench_inventory(args) -> dict:
    from bench import inventory_pages

    var = harness.RESULTS / f"inventory-{args.identities}"
    env = harness.bench_env(var)
    fresh = not (var / "nhiportal.sqlite3").exists()
    harness.manage(env, "migrate", "--noinput", "-v0")
    if fresh:
        print(f"loading {args.identities} identities (once; kept in {var})", flush=True)
        harness.manage(env, "demo_data", "--identities", str(args.identities))
    harness.manage(env, "collectstatic", "--noinput", "-v0")
    with harness.gunicorn(env, workers=2) as base:
        results = inventory_pages.run(base)
    results["risk scoring (score_identities, each sweep)"] = _json_of(env, "risk_scoring.py")
    return results


def _json_of(env: dict, script: str) -> dict:
    """Run a bench script in the benchmark's environment; its last line is its JSON result."""
    import subprocess

    out = subprocess.run(
        [harness.PYTHON, str(harness.ROOT / "bench" / script), "--json"],
        env=env, cwd=harness.ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_tokens(args) -> dict:
    from bench import token_endpoint

    var = harness.RESULTS / "tokens"
    # A fresh database each run, so repeated runs measure the same thing: otherwise every
    # run's ten thousand tokens stay in the ledger and deepen the indexes the next one writes.
    for leftover in var.glob("nhiportal.sqlite3*"):
        leftover.unlink()
    env = harness.bench_env(var)
    harness.manage(env, "migrate", "--noinput", "-v0")
    return token_endpoint.run(env, seconds=args.seconds)


def bench_verifier(args) -> dict:
    from bench import verifier

    return verifier.run(harness.bench_env(harness.RESULTS / "tokens"))


def bench_policy(args) -> dict:
    env = harness.bench_env(harness.RESULTS / "tokens")
    harness.manage(env, "migrate", "--noinput", "-v0")
    return _json_of(env, "policy_eval.py")


def bench_revocation(args) -> dict:
    """Revoking at scale on a 205,000-token ledger (bench/revocation_scale.py, which keeps its
    own database and takes DATABASE_URL or NHI_BENCH_DATABASE_URL for PostgreSQL). Not in
    BENCHMARKS: building the ledger once and the rounds take minutes."""
    import os
    import subprocess

    out = subprocess.run(
        [harness.PYTHON, str(harness.ROOT / "bench" / "revocation_scale.py"), "--json"],
        env=dict(os.environ), cwd=harness.ROOT, check=True, stdout=subprocess.PIPE, text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def machine_speed() -> dict:
    """A fixed pure-Python loop, so figures from different machines can be put side by side:
    these machines differ by a factor of two or more, and every figure moves with it."""
    import timeit

    per_loop = min(timeit.repeat("sum(range(50))", number=200_000, repeat=5)) / 200_000
    return {"python sum(range(50)) ns": round(per_loop * 1e9)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(BENCHMARKS))
    parser.add_argument("--identities", type=int, default=50_000)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    harness.RESULTS.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine_speed()}
    print(f"machine: {results['machine']}", flush=True)
    for name in args.only.split(","):
        print(f"\n== {name} ==", flush=True)
        results[name] = globals()[f"bench_{name}"](args)
        print(json.dumps(results[name], indent=2), flush=True)
    (harness.RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {harness.RESULTS / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
