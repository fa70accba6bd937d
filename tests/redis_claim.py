"""One Redis database per test run, so two suites (or a suite and a soak) on one machine never share
RQ queues, rate-limit counts or each other's ``flushdb``.

``BGCUT_REDIS_URL`` set by hand always wins (and is claimed too when it is one of ours, so that no
other run takes it). Otherwise the first run claims the first free database
of ``CLAIMABLE`` on 127.0.0.1:6379 with an atomic ``SET NX`` of a claim key in database 0 (the only
key a run writes there), holding its process id; the claim is dropped at exit, and a claim whose
process is gone is taken over. The chosen URL is put in ``os.environ``, so every worker process a
test starts (they inherit the environment) joins the same database without claiming one itself.
"""

from __future__ import annotations

import atexit
import os
import socket
import sys

DEFAULT = "redis://127.0.0.1:6379/11"
CLAIMABLE = range(12, 16)
CLAIM_KEY = "wagtail-bgcut:tests:redis-db:{db}"
CLAIM_SECONDS = 12 * 3600  # a crashed run's claim lapses by itself too


def _alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's run: assume it lives until its claim lapses
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def redis_url() -> str:
    """``BGCUT_REDIS_URL``, or the URL of a database claimed for this run (DEFAULT when Redis
    does not answer: the tests that need it then skip, or fail under CI, with the reason)."""
    explicit = os.environ.get("BGCUT_REDIS_URL")
    inherited = os.environ.get("BGCUT_REDIS_CLAIMED") == "1"  # a worker a test run started
    if explicit and inherited:
        return explicit
    try:
        import redis

        admin = redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1)
        owner = f"{socket.gethostname()}:{os.getpid()}"
        if explicit:
            # Chosen by hand: claim it too when it is one of ours, so no claiming run takes it.
            prefix, _, db = explicit.rpartition("/")
            if prefix == "redis://127.0.0.1:6379" and db.isdigit() and int(db) in CLAIMABLE:
                _claim(admin, int(db), owner)
            os.environ["BGCUT_REDIS_CLAIMED"] = "1"
            return explicit
        for db in CLAIMABLE:
            empty = redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}").dbsize() == 0
            if empty and _claim(admin, db, owner):
                url = f"redis://127.0.0.1:6379/{db}"
                os.environ["BGCUT_REDIS_URL"] = url
                os.environ["BGCUT_REDIS_CLAIMED"] = "1"
                return url
        print(
            f"wagtail-bgcut tests: Redis databases {CLAIMABLE.start}-{CLAIMABLE.stop - 1} are all "
            f"claimed or not empty; sharing {DEFAULT} (set BGCUT_REDIS_URL to choose one, or "
            "empty a stale one with `redis-cli -n N flushdb`)",
            file=sys.stderr,
        )
    except Exception:  # no redis package or no server: DEFAULT, and the Redis tests say why
        pass
    if explicit:
        return explicit
    os.environ["BGCUT_REDIS_URL"] = DEFAULT
    return DEFAULT


def _claim(admin, db: int, owner: str) -> bool:
    """Take database ``db`` for this run unless a live run holds it."""
    key = CLAIM_KEY.format(db=db)
    current = admin.get(key)
    if current is not None and not _alive(current.decode()):
        admin.delete(key)
    if admin.set(key, owner, nx=True, ex=CLAIM_SECONDS):
        atexit.register(_release, admin, key, owner)
        return True
    return False


def _release(admin, key: str, owner: str) -> None:
    try:
        if admin.get(key) == owner.encode():
            admin.delete(key)
    except Exception:
        pass  # the claim lapses by itself
