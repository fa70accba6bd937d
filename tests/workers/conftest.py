"""Real worker processes for the recovery tests: ``db_worker`` (django-tasks-db) and ``rqworker``.

Each worker is a separate ``manage.py``-style process (``python -m django``) on this test's
database, media folder and emulator, started in its own process group so a test can SIGKILL it
mid-job exactly as an out-of-memory killer or a lost container would. Redis answers for RQ the way
PostgreSQL does for the postgres tests: without it the RQ tests skip with the reason, and under
``CI=true`` they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from tests.core.conftest import bgcut_settings, make_wagtail_image  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]


def redis_answers() -> str | None:
    """None when Redis answers on the test URL, else why not."""
    try:
        import redis
    except ImportError:
        return 'redis is not installed (pip install "wagtail-bgcut[rq]")'
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"no Redis answers at {settings.REDIS_URL} ({type(exc).__name__})"
    return None


@pytest.fixture
def redis_db() -> Iterator[Any]:
    """The test Redis database, emptied before and after; skip (fail under CI) without Redis."""
    reason = redis_answers()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason} (scripts/ensure-services.sh starts it)")
        pytest.skip(reason)
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid``, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


@dataclass
class Worker:
    """One worker process; ``kill()`` is SIGKILL to its whole process group."""

    name: str
    process: subprocess.Popen
    log: Path

    def kill(self) -> None:
        """SIGKILL the worker and every process it started (RQ's work horse is in a session of
        its own, so killing the group alone would leave it running the job)."""
        if self.process.poll() is None:
            for pid in [*_descendants(self.process.pid), self.process.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


ENGINES = {
    # --no-reload: under DEBUG db_worker reloads by default, and killing the process started would
    # leave the reloader's child running (docs/tasks.md).
    "db": lambda scheduler: ["db_worker", "--backend", "db", "--no-reload", "--interval", "0.2"],
    # --with-scheduler runs RQ's scheduler, which is what runs delayed (run_after) jobs. One
    # worker holds its lock; if that worker dies, another takes over only after RQ's fallback
    # period (two minutes), so the kill tests kill a worker that does not hold it.
    "rq": lambda scheduler: [
        "rqworker",
        "--job-class",
        "django_tasks_rq.Job",
        *(["--with-scheduler"] if scheduler else []),
        *settings.TASKS["rq"]["QUEUES"],
    ],
}


@pytest.fixture
def start_worker(bgcut_server, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start a worker of an engine with these WAGTAIL_BGCUT keys; all stop after the test."""
    workers: list[Worker] = []

    def start(engine: str, *, scheduler: bool = True, **bgcut: Any) -> Worker:
        current = dict(settings.WAGTAIL_BGCUT)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "BGCUT_WORKER_DB_NAME": str(connection.settings_dict["NAME"]),
            "BGCUT_WORKER_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "BGCUT_WORKER_SETTINGS": json.dumps({**current, **bgcut}, default=list),
            "PYTHONPATH": str(ROOT),
        }
        log = tmp_path / f"worker-{len(workers)}-{engine}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "django", *ENGINES[engine](scheduler)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(f"{engine}-{len(workers)}", process, log)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, workers=()) -> Any:
    """Poll until ``predicate()`` is truthy; fail naming ``what`` and the workers' output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    logs = "\n".join(f"--- {w.name}:\n{w.output()[-3000:]}" for w in workers)
    pytest.fail(f"timed out after {timeout:g}s waiting for {what}\n{logs}")


@pytest.fixture
def engine_settings(request):
    """WAGTAIL_BGCUT for the test process: queue work on the engine under test."""

    def use(engine: str, **more: Any):
        queue = settings.TASKS[engine].get("QUEUES", ["default"])[0]
        return bgcut_settings(TASK_BACKEND=engine, TASK_QUEUE=queue, **more)

    return use
