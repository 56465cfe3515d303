#!/usr/bin/env python
"""What a token costs in CPU, counted in instructions rather than timed (issue #3).

Wall time on a shared 2-core machine moves by a factor of two from hour to hour; the number
of instructions a token takes does not. This issues tokens in one process through the real
Django stack (the WSGI application gunicorn serves, POST /oauth/token with a fresh
private_key_jwt assertion each, ES256 signatures, a scratch SQLite database made as
`make bench` makes it: bench/token_setup.py's agent, key, service and grant).

    .venv/bin/python bench/token_instructions.py --callgrind       # instructions per token
    .venv/bin/python bench/token_instructions.py                   # wall time per token
    .venv/bin/python bench/token_instructions.py --profile         # and cProfile's top 30

--callgrind runs this script under valgrind's callgrind, counting only while the measured
tokens are issued (they run inside itertools.starmap, the one C function counting is
switched on in: nothing on the token path calls it), so start-up, the warm-up and the setup
are left out, and so is signing the requests' assertions as the run starts. The database is
made beforehand by child processes, which callgrind does not follow. The
WAL checkpoint thread is off (NHI_SQLITE_CHECKPOINT_SECONDS=0: SQLite checkpoints inside a
commit instead, as it would without the thread), so every instruction counted is the
requests' own; and intervals measured in seconds are stretched (_hold_the_clock), so the
count repeats from run to run, whatever the machine's load.
"""

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import re
import subprocess
import sys
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

VAR = harness.RESULTS / "token-instructions"
ISSUER = "http://127.0.0.1:8000"
WARM_UP = 50  # tokens before counting: the policy set compiles, the signing key decrypts, caches fill


def environment() -> dict:
    env = harness.bench_env(VAR)
    env.update(NHI_ISSUER=ISSUER, NHI_SQLITE_CHECKPOINT_SECONDS="0", PYTHONHASHSEED="0")
    return env


def prepare() -> None:
    """A fresh scratch database: migrated, with the benchmark's agent, key, service and grant."""
    for leftover in VAR.glob("nhiportal.sqlite3*"):
        leftover.unlink()
    (VAR / "fixture.json").unlink(missing_ok=True)
    env = environment()
    harness.manage(env, "migrate", "--noinput", "-v0")
    subprocess.run([harness.PYTHON, str(ROOT / "bench" / "token_setup.py"), str(VAR / "fixture.json")], env=env, check=True, cwd=ROOT)


def bodies(count: int) -> list[str]:
    """`count` token requests as bench/token_endpoint.py makes them, each with a fresh assertion.
    Signed when the run starts (not counted): an assertion is good for five minutes only."""
    from cryptography.hazmat.primitives import serialization

    from bench.token_endpoint import ASSERTION_TYPE, TASK, _assertion

    f = json.loads((VAR / "fixture.json").read_text())
    key = serialization.load_pem_private_key(f["agent_key"].encode(), None)
    return [
        urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _assertion(key, f["agent_kid"], f["client_id"], f"{ISSUER}/oauth/token"),
            "resource": f["audience"], "scope": "contacts:read", "authorization_details": TASK,
        })
        for _ in range(count)
    ]


def _hold_the_clock() -> None:
    """Under callgrind a token takes 100 to 300 ms, not one: what a process re-reads every few
    seconds (the active policy, the signing key) would be re-read every few tokens, and a plan
    made before the write lock would go stale (tokens/issuance.py, PLAN_MAX_AGE) as it never
    does on a real machine. The count would then move with the machine's load. So, for the
    count only, those intervals are stretched to what they are worth in tokens on a real
    machine: practically never within a run."""
    from django.conf import settings

    from tokens import issuance, keys

    settings.NHI["POLICY_CACHE_SECONDS"] = 3600
    keys.SIGNER_RECHECK = 3600.0
    issuance.PLAN_MAX_AGE = timedelta(minutes=5)


def issue(tokens: int, *, profile: bool) -> None:
    """Issue WARM_UP tokens, then `tokens` more (timed, or profiled); every one must be a 200."""
    os.environ.update(environment())
    from nhiportal.wsgi import application  # as gunicorn loads it: settings checked, gc frozen

    if os.environ.get("NHI_TOKEN_INSTRUCTIONS_CALLGRIND") == "1":
        _hold_the_clock()

    requests = bodies(WARM_UP + tokens)

    def post(body: str) -> None:
        data = body.encode()
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/oauth/token", "QUERY_STRING": "", "SCRIPT_NAME": "",
            "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(data)),
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1:8000", "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(data),
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        status = []
        chunks = application(environ, lambda s, headers, exc_info=None: status.append(s))
        answer = b"".join(chunks)
        chunks.close()
        if not status[0].startswith("200"):
            raise SystemExit(f"token request refused: {status[0]} {answer[:300]!r}")

    for body in requests[:WARM_UP]:
        post(body)
    measured = requests[WARM_UP:]
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in itertools.starmap(post, ((body,) for body in measured)):  # see --callgrind
        pass
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    if tokens:
        print(f"{tokens} tokens: {elapsed / tokens * 1000:.3f} ms a token (wall time, one process{', profiled' if profile else ''})")
    if profiler:
        for order in ("cumulative", "tottime"):
            print(f"\n--- top 30 by {order} ---")
            pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats(order).print_stats(30)


_COLLECTED = re.compile(r"^(?:summary|totals):\s+(\d+)", re.M)


def callgrind(tokens: int) -> int:
    """Instructions per token, counted by callgrind while `tokens` tokens are issued."""
    prepare()
    out = VAR / "callgrind.out"
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--collect-atstart=no", "--toggle-collect=starmap_next",
         harness.PYTHON, __file__, "--tokens", str(tokens)],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
        # Compiled modules kept beside the results: under valgrind, compiling them all again is
        # most of a run's minutes (and it is not counted either way).
        env={**environment(), "NHI_TOKEN_INSTRUCTIONS_PREPARED": "1", "NHI_TOKEN_INSTRUCTIONS_CALLGRIND": "1", "PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(VAR / "pycache")},
    )
    if run.returncode:
        raise SystemExit(f"the run under callgrind failed:\n{run.stderr[-3000:]}")
    total = int(_COLLECTED.search(out.read_text()).group(1))
    per_token = total // tokens
    print(f"{tokens} tokens: {total:,} instructions, {per_token:,} a token")
    print(f"(callgrind_annotate {out} names the C functions they ran in)")
    return per_token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=200, help="tokens to count, after the warm-up (default 200)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top 30 (cumulative and tottime)")
    parser.add_argument("--callgrind", action="store_true", help="count instructions per token under valgrind")
    parser.add_argument("--json", action="store_true", help="with --callgrind: end with a JSON line of the result")
    args = parser.parse_args()
    if args.callgrind:
        per_token = callgrind(args.tokens)
        if args.json:
            print(json.dumps({"instructions per token": per_token, "tokens": args.tokens}))
    else:
        if os.environ.get("NHI_TOKEN_INSTRUCTIONS_PREPARED") != "1":
            prepare()
        issue(args.tokens, profile=args.profile)


if __name__ == "__main__":
    main()
