"""Benchmark: 50 dashboard tabs polling a real gunicorn on loopback for 60 seconds.

Seeds a SQLite file (the same generator as ``bench_dashboard``), starts
``gunicorn -c gunicorn.conf.py wsgi:server`` on a free port without an ingestor, and runs 50
client threads. Each client behaves like an open spread page: it posts the page's refresh
callback once per second (the default refresh interval), skipping a beat when the previous
answer has not arrived, so load stays bounded. Reports p50/p95/max latency, requests per second
and errors. Targets: p95 <= 250 ms and 0 errors.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from tests.bench.bench_dashboard import refresh_payload, seed
from tests.bench.common import REPO, percentile, save, table, wait_for
from tests.conftest import free_port

TARGET_P95_MS = 250.0


def _client(
    base: str, payload: dict, stop: threading.Event, latencies: list[float], errors: list[str]
) -> None:
    session = requests.Session()
    next_tick = time.monotonic()
    while not stop.is_set():
        began = time.perf_counter()
        try:
            response = session.post(f"{base}/_dash-update-component", json=payload, timeout=10)
            if response.status_code == 200:
                latencies.append((time.perf_counter() - began) * 1000)
            elif response.status_code != 204:
                errors.append(f"HTTP {response.status_code}")
        except requests.RequestException as exc:
            errors.append(type(exc).__name__)
        next_tick += 1.0
        stop.wait(max(0.0, next_tick - time.monotonic()))
        next_tick = max(next_tick, time.monotonic())


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the load test and print/save its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "load.db"
        seed(f"sqlite:///{db}", 1_000_000, 10)
        config = Path(tmp) / "load.yaml"
        port = free_port()
        config.write_text(
            f'storage: {{url: "sqlite:///{db}"}}\n'
            "pairs: [{name: BTC-ETH, base: BTCUSDT, hedge: ETHUSDT}]\n"
            f"dashboard: {{port: {port}, workers: 2}}\n"
        )
        env = {**os.environ, "PAIRWATCH_CONFIG": str(config), "PAIRWATCH_NO_INGEST": "1"}
        log = (Path(tmp) / "gunicorn.log").open("w")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "--no-control-socket",
                "wsgi:server",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            if not wait_for(lambda: _ok(f"{base}/healthz"), 30, 0.2):
                raise SystemExit("gunicorn did not start")
            deps = requests.get(f"{base}/_dash-dependencies", timeout=10).json()
            stop = threading.Event()
            latencies: list[float] = []
            errors: list[str] = []
            threads = [
                threading.Thread(
                    target=_client,
                    args=(base, refresh_payload(deps, f"load-{i}"), stop, latencies, errors),
                )
                for i in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            time.sleep(args.seconds)
            stop.set()
            for thread in threads:
                thread.join(15)
        finally:
            server.terminate()
            server.wait(15)
            log.close()
    result = {
        "clients": args.clients,
        "seconds": args.seconds,
        "requests": len(latencies),
        "requests_per_s": len(latencies) / args.seconds,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "max_ms": max(latencies, default=float("nan")),
        "errors": len(errors),
        "target_p95_ms": TARGET_P95_MS,
    }
    print("\n## Load: spread-page refresh, real gunicorn (2 workers x 4 threads), loopback\n")
    print(
        table(
            ["clients", "seconds", "requests", "req/s", "p50 ms", "p95 ms", "max ms", "errors"],
            [
                [
                    args.clients,
                    f"{args.seconds:.0f}",
                    result["requests"],
                    f"{result['requests_per_s']:.1f}",
                    f"{result['p50_ms']:.1f}",
                    f"{result['p95_ms']:.1f}",
                    f"{result['max_ms']:.0f}",
                    len(errors),
                ]
            ],
        )
    )
    save("load", result)
    return result


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


if __name__ == "__main__":
    main()
