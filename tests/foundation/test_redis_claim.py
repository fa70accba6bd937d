"""Two test runs on one machine get two Redis databases (tests/redis_claim.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workers.conftest import redis_answers

ROOT = Path(__file__).resolve().parents[2]

# A stand-in for a test run: claims a database as tests/settings.py does, prints it, and holds the
# claim until its stdin closes.
RUN = "from tests.redis_claim import redis_url; print(redis_url(), flush=True); input()"


def start_run() -> tuple[subprocess.Popen, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("BGCUT_REDIS_URL", "BGCUT_REDIS_CLAIMED")
    }
    env["PYTHONPATH"] = str(ROOT)
    run = subprocess.Popen(
        [sys.executable, "-c", RUN],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert run.stdout is not None
    return run, run.stdout.readline().strip()


def test_two_runs_claim_different_databases_and_give_them_back():
    reason = redis_answers()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    first, first_url = start_run()
    second, second_url = start_run()
    try:
        assert first_url.startswith("redis://127.0.0.1:6379/")
        assert second_url.startswith("redis://127.0.0.1:6379/")
        assert first_url != second_url
    finally:
        for run in (first, second):
            run.communicate("\n", timeout=30)
    # Each run gave its database back at exit (a crashed one's claim is taken over instead).
    import redis

    from tests.redis_claim import CLAIM_KEY

    admin = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    for url in (first_url, second_url):
        owner = admin.get(CLAIM_KEY.format(db=url.rsplit("/", 1)[1]))
        assert owner is None or not owner.decode().endswith(f":{first.pid}")
        assert owner is None or not owner.decode().endswith(f":{second.pid}")


def test_an_explicit_url_is_used_as_given(monkeypatch):
    from tests.redis_claim import redis_url

    monkeypatch.setenv("BGCUT_REDIS_URL", "redis://127.0.0.1:6379/7")
    monkeypatch.delenv("BGCUT_REDIS_CLAIMED", raising=False)
    assert redis_url() == "redis://127.0.0.1:6379/7"
