"""Keeps the ingestor beside a web server running: restart on crash, never on refusal.

``Supervisor`` starts one child command and watches it from a thread. An unexpected exit (a
crash, ``kill -9``, out of memory) restarts it after a jittered, growing delay, so a crash loop
cannot spin; the delay starts over once a child has lived a minute. Exit status 0 (a clean stop),
2 (bad configuration, or another ingestor already holds the database lock) and 3 (its SQLite
file was removed or replaced while running, ``DATABASE_LOST_EXIT``) are final: a restart could
not help, must not fight the active ingestor, and must not start over on an empty file; the
line logged for 3 says so. ``stop`` ends it with SIGTERM, which lets the ingestor drain its
buffer, and kills it only if it overstays.

gunicorn runs it as its own process (``python -m ingest.supervisor --name ingestor -- python -m
ingest run``) rather than as a thread of the master: the master reaps every child it has with
``waitpid(-1)``, which would steal the ingestor's exit status from the watcher.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from ingest.backoff import Backoff
from ingest.errors import DATABASE_LOST_EXIT

FINAL_EXITS = {
    0: "",
    2: "",
    DATABASE_LOST_EXIT: " (its database file was removed or replaced while running: restore it "
    "or start over, then restart pairwatch)",
}
"""Exit statuses that are never restarted, each with what the log line adds about it."""
HEALTHY_AFTER_S = 60.0


class Supervisor:
    """One supervised child process; ``log`` receives one line per lifecycle event."""

    def __init__(self, command: Sequence[str], log: Callable[[str], None], name: str) -> None:
        self._command = list(command)
        self._log = log
        self._name = name
        self._backoff = Backoff(base_s=1.0, cap_s=30.0)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        self._thread = threading.Thread(target=self._watch, name=f"supervise-{name}", daemon=True)

    @property
    def pid(self) -> int | None:
        """Pid of the running child (None before start)."""
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Start the child and its watcher."""
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        with self._lock:  # stop() takes the lock too: no child is started after it
            if self._stopping.is_set():
                return
            self._process = subprocess.Popen(self._command)
            self._started = time.monotonic()
        self._log(f"started {self._name} pid {self._process.pid}")

    def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            code = process.wait()
            if self._stopping.is_set():
                return
            why = FINAL_EXITS.get(code)
            if why is not None:
                self._log(f"{self._name} exited with status {code}{why}; not restarting")
                return
            if time.monotonic() - self._started > HEALTHY_AFTER_S:
                self._backoff.reset()
            delay = self._backoff.next_delay()
            self._log(f"{self._name} died (status {code}); restarting in {delay:.1f} s")
            if self._stopping.wait(delay):
                return
            self._spawn()

    def stop(self, timeout: float = 8.0) -> None:
        """SIGTERM the child, wait, kill it if it overstays."""
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._log(f"{self._name} did not stop in {timeout:g} s; killing it")
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    """``python -m ingest.supervisor [--name N] -- COMMAND...``: supervise until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m ingest.supervisor")
    parser.add_argument("--name", default="child", help="name used in the log lines")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("a command to supervise is required after --")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    def log(line: str) -> None:
        print(f"supervisor: {line}", file=sys.stderr, flush=True)

    supervisor = Supervisor(command, log, args.name)
    supervisor.start()
    stop.wait()
    supervisor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
