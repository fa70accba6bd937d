"""Replay protection shared by several web processes: a ticket's nonce used in one process is
refused in another, through the Redis cache both point ``DIRECT_UPLOAD_CACHE`` at."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.workers.conftest import redis_db  # noqa: F401 (a fixture)
from wagtail_bgcut.direct_upload import tokens

ROOT = Path(__file__).resolve().parents[2]

# A second Django process on the same settings and Redis: it marks nonces used (or asks whether
# it may), exactly as the finalize view of another web process does, and prints the answers.
OTHER_PROCESS = """
import json, sys, django
django.setup()
from wagtail_bgcut.direct_upload import tokens
print(json.dumps([tokens.use_nonce(n, int(e), kind=k) for n, e, k in json.loads(sys.argv[1])]))
"""


def other_process(nonces: list[tuple[str, float, str]], cache_alias: str) -> list[bool]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "BGCUT_WORKER_SETTINGS": json.dumps({"DIRECT_UPLOAD_CACHE": cache_alias}),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, json.dumps(nonces)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_nonce_used_in_one_process_is_refused_in_another(redis_db, settings):  # noqa: F811
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "DIRECT_UPLOAD_CACHE": "redis"}
    expires = int(time.time()) + 300
    first, second = tokens.new_nonce(), tokens.new_nonce()
    # This process finalizes `first`; the other process then tries it, and finalizes `second`
    # (a ticket) and a local-engine token of the same nonce string (another kind: its own slot).
    assert tokens.use_nonce(first, expires)
    assert other_process(
        [(first, expires, "ticket"), (second, expires, "ticket"), (second, expires, "local")],
        "redis",
    ) == [False, True, True]
    # Back here: the other process's use is seen too.
    assert not tokens.use_nonce(second, expires)
    assert not tokens.use_nonce(second, expires, kind="local")
    # A released nonce (a failure that stored nothing) may be used once more, by any process.
    tokens.release_nonce(second)
    assert other_process([(second, expires, "ticket"), (second, expires, "ticket")], "redis") == [
        True,
        False,
    ]


def test_a_process_local_cache_is_why_the_check_warns(redis_db, settings):  # noqa: F811
    # The failure W021 is about, shown for real: with LocMemCache each process remembers alone,
    # so the nonce this process used is accepted by the other one.
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "DIRECT_UPLOAD_CACHE": "default"}
    assert settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
    nonce, expires = tokens.new_nonce(), int(time.time()) + 300
    assert tokens.use_nonce(nonce, expires)
    assert other_process([(nonce, expires, "ticket")], "default") == [True]


@pytest.mark.parametrize(
    ("backend", "urlconf", "expected"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", "tests.direct_upload.urls", ["W021"]),
        ("django.core.cache.backends.dummy.DummyCache", "tests.direct_upload.urls", ["E022"]),
        ("django.core.cache.backends.redis.RedisCache", "tests.direct_upload.urls", []),
        # The views are not served: nothing to protect, nothing to say.
        ("django.core.cache.backends.locmem.LocMemCache", "tests.urls", []),
    ],
)
def test_the_direct_upload_cache_check(settings, backend, urlconf, expected):
    from wagtail_bgcut.checks import check_direct_upload_cache

    settings.ROOT_URLCONF = urlconf
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": backend}}
    if backend.endswith("RedisCache"):
        settings.CACHES["default"]["LOCATION"] = settings.REDIS_URL
    ids = [m.id.removeprefix("wagtail_bgcut.") for m in check_direct_upload_cache()]
    assert ids == expected
    settings.WAGTAIL_BGCUT = {**settings.WAGTAIL_BGCUT, "DIRECT_UPLOAD_CACHE": "nope"}
    assert [m.id for m in check_direct_upload_cache()] == ["wagtail_bgcut.E021"]
