"""Soak run: simulator + ingestor + gunicorn dashboard for N minutes, RSS sampled throughout.

Not collected by pytest (no ``test_`` prefix); run ``python -m tests.reliability.soak --minutes
10`` (``make soak``). It starts the simulator in this process on loopback, one ``python -m
ingest run`` child writing a temporary SQLite database, and, when ``wsgi.py`` is importable,
``gunicorn -c gunicorn.conf.py wsgi:server`` with ``PAIRWATCH_CONFIG`` pointing at the same
temporary config and ``PAIRWATCH_NO_INGEST=1`` (the soak owns the single ingestor). A polling
client requests the status and analytics APIs once a second, like an open browser tab. Every
``--sample-s`` seconds it records VmRSS (from ``/proc/<pid>/status``) of the ingestor and of the
gunicorn master plus its workers, then prints whether growth after the warm-up (the first 20 %
of the run) stays under 10 %. Exit status 0 on pass, 1 on growth or a dead process.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ingest.simulator import Simulator, SimulatorConfig
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
GROWTH_LIMIT = 0.10
WARMUP_FRACTION = 0.2
SYMBOLS = ("BTCUSDT", "ETHUSDT")


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (0 when the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found.extend(int(child) for child in task.read_text().split())
    return found


@dataclass
class Series:
    """RSS samples (KiB) of one process group."""

    name: str
    samples: list[tuple[float, int]] = field(default_factory=list)

    def growth(self, warmup_until: float) -> float:
        """Relative growth from the first post-warm-up sample to the mean of the last three."""
        after = [kib for t, kib in self.samples if t >= warmup_until]
        if len(after) < 2 or after[0] == 0:
            return 0.0
        tail = after[-3:]
        return (sum(tail) / len(tail) - after[0]) / after[0]


def write_config(folder: Path, sim: Simulator, port: int) -> Path:
    path = folder / "soak.yaml"
    data = {
        "feed": {"ws_url": sim.ws_base, "rest_url": sim.rest_base, "silence_s": 10},
        "storage": {"url": f"sqlite:///{folder / 'soak.db'}"},
        "pairs": [{"name": "BTC-ETH", "base": SYMBOLS[0], "hedge": SYMBOLS[1]}],
        "dashboard": {"port": port, "workers": 2},
    }
    path.write_text(yaml.safe_dump(data))
    return path


def start_dashboard(config: Path, log: Path) -> subprocess.Popen[bytes] | None:
    if importlib.util.find_spec("dashboard") is None or not (REPO / "wsgi.py").exists():
        print("dashboard not ready: soaking the ingestor only")
        return None
    env = {**os.environ, "PAIRWATCH_CONFIG": str(config), "PAIRWATCH_NO_INGEST": "1"}
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:server"]
    with log.open("w") as out:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def poll_dashboard(port: int) -> bool:
    """One refresh's worth of API calls; False when the server does not answer 200."""
    base = f"http://127.0.0.1:{port}"
    try:
        for path in ("/api/v1/status", "/api/v1/analytics?pair=BTC-ETH&tf=1s"):
            with urllib.request.urlopen(base + path, timeout=5) as response:
                response.read()
    except OSError:
        return False
    return True


def soak(minutes: float, rate: float, sample_s: float) -> int:
    with tempfile.TemporaryDirectory(prefix="pairwatch-soak-") as tmp:
        folder = Path(tmp)
        sim = Simulator(SimulatorConfig(symbols=SYMBOLS, rate=rate, seed=1)).start()
        port = free_port()
        config = write_config(folder, sim, port)
        with (folder / "ingest.log").open("w") as ingest_log:
            ingest = subprocess.Popen(
                [sys.executable, "-m", "ingest", "--config", str(config), "run"],
                cwd=REPO,
                stdout=ingest_log,
                stderr=subprocess.STDOUT,
            )
        web = start_dashboard(config, folder / "gunicorn.log")
        try:
            return run_samples(minutes, sample_s, ingest, web, port, sim)
        finally:
            for proc in (web, ingest):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    proc.wait(15)
            sim.stop()


def run_samples(
    minutes: float,
    sample_s: float,
    ingest: subprocess.Popen[bytes],
    web: subprocess.Popen[bytes] | None,
    port: int,
    sim: Simulator,
) -> int:
    series = {"ingestor": Series("ingestor"), "dashboard": Series("dashboard")}
    started = time.monotonic()
    end = started + minutes * 60
    warmup_until = started + minutes * 60 * WARMUP_FRACTION
    next_sample, failed_polls = started, 0
    while time.monotonic() < end:
        if ingest.poll() is not None or (web is not None and web.poll() is not None):
            print("a soaked process exited early")
            return 1
        if web is not None and not poll_dashboard(port):
            failed_polls += 1
        if time.monotonic() >= next_sample:
            now = time.monotonic()
            series["ingestor"].samples.append((now, rss_kib(ingest.pid)))
            if web is not None:
                group = [web.pid, *children(web.pid)]
                series["dashboard"].samples.append((now, sum(rss_kib(pid) for pid in group)))
            print(
                f"t={now - started:6.0f}s trades={sim.generated_count} "
                + " ".join(
                    f"{s.name}={s.samples[-1][1] / 1024:.1f}MiB"
                    for s in series.values()
                    if s.samples
                )
            )
            next_sample += sample_s
        time.sleep(1.0)
    return report(series, warmup_until, failed_polls)


def report(series: dict[str, Series], warmup_until: float, failed_polls: int) -> int:
    ok = True
    for item in series.values():
        if not item.samples:
            continue
        growth = item.growth(warmup_until)
        verdict = "ok" if growth < GROWTH_LIMIT else "GROWING"
        ok &= growth < GROWTH_LIMIT
        print(f"{item.name}: RSS growth after warm-up {growth:+.1%} ({verdict}, limit 10 %)")
    print(f"dashboard polls that failed: {failed_polls}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=2000.0, help="trades/s per symbol")
    parser.add_argument("--sample-s", type=float, default=10.0, help="seconds between samples")
    args = parser.parse_args(argv)
    return soak(args.minutes, args.rate, args.sample_s)


if __name__ == "__main__":
    sys.exit(main())
