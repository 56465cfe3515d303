"""Plumbing shared by the benchmarks: a scratch database, gunicorn, wrk, and statistics."""

import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable


def bench_env(var_dir: Path) -> dict:
    """Environment for every process of one benchmark run: its own database and keys."""
    env = dict(os.environ)
    keys = var_dir / "bench-keys.json"
    if not keys.exists():
        import base64

        keys.parent.mkdir(parents=True, exist_ok=True)
        keys.touch(mode=0o600)
        keys.chmod(0o600)  # scratch keys, but keys: readable by their owner only
        keys.write_text(
            json.dumps(
                {
                    "NHI_SECRET_KEY": secrets.token_urlsafe(50),
                    "NHI_AUDIT_HMAC_KEY": secrets.token_urlsafe(50),
                    "NHI_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                }
            )
        )
    env.update(json.loads(keys.read_text()))
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        NHI_VAR_DIR=str(var_dir),
        PYTHONPATH=str(ROOT),
        NHI_LOG_LEVEL="WARNING",
    )
    # The targets are stated for SQLite; NHI_BENCH_DATABASE_URL runs the same on PostgreSQL.
    env.pop("DATABASE_URL", None)
    if os.environ.get("NHI_BENCH_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["NHI_BENCH_DATABASE_URL"]
    return env


def manage(env: dict, *args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(env: dict, *, workers: int = 2, threads: int = 1, port: int | None = None):
    """Serve the portal with gunicorn on a (free) loopback port; yield its base URL."""
    port = port or free_port()
    cmd = [
        PYTHON, "-m", "gunicorn", "nhiportal.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
        "--log-level", "warning",
    ]
    if os.environ.get("NHI_BENCH_ACCESS_LOG"):
        # Off by default: even to /dev/null gunicorn formats every line (about 4% of a token request).
        cmd += ["--access-logfile", "-"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    _masters[url] = proc.pid
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield url
    finally:
        _masters.pop(url, None)
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


_masters: dict[str, int] = {}  # base URL -> the pid of the gunicorn master serving it
_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> list[str]:
    # The fields after the command's closing parenthesis (the command may hold spaces):
    # [1] is the parent's pid, [11] and [12] the user and system CPU in clock ticks.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def worker_cpu(url: str) -> float:
    """CPU seconds (user and system, every thread) the gunicorn workers serving `url` have used
    so far, read from /proc."""
    master, ticks = str(_masters[url]), 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat(entry.name)
            except OSError:
                continue  # gone meanwhile
            if fields[1] == master:
                ticks += int(fields[11]) + int(fields[12])
    return ticks / _TICKS


def with_worker_cpu(url: str, run) -> dict:
    """run() (a wrk run against url), its figures with the workers' CPU milliseconds per request
    added. Under load the cores are the limit, so what a request costs the workers says more
    than a rate, which moves with everything else on the machine."""
    before = worker_cpu(url)
    result = run()
    result["worker_cpu_ms_a_request"] = round((worker_cpu(url) - before) * 1000 / max(result["requests"], 1), 3)
    return result


_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_TOTAL = re.compile(r"(\d+) requests in")


def wrk(url: str, *, script: Path | None = None, connections: int = 8, threads: int = 2, seconds: int = 10, env=None) -> dict:
    """Run wrk against url; return requests/s, latency percentiles (ms) and error counts."""
    cmd = ["wrk", "--latency", f"-t{threads}", f"-c{connections}", f"-d{seconds}s"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True, env=env).stdout
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    lat = {f"p{m[0]}_ms": round(float(m[1]) * scale[m[2]], 3) for m in _LATENCY.findall(out)}
    non2xx = _NON2XX.search(out)
    return {
        "rps": float(_RATE.search(out).group(1)),
        "requests": int(_TOTAL.search(out).group(1)),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        **lat,
    }


def summarize(samples_ms: list[float]) -> dict:
    samples = sorted(samples_ms)
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 2),
        "n": len(samples),
    }
