"""Fault injection: make the next request(s) fail the way a busy or broken service does.

A fault is matched against each incoming request (optionally only paths matching ``path``), fires
with probability ``rate`` (always when None), and stays armed for ``times`` firings (forever when
None). What it does:

- ``status``: answer with that status and ``{"detail": ...}`` (plus ``Retry-After``) instead of
  handling the request; nothing is charged or stored.
- ``latency``: sleep that many seconds first (alone, the request then proceeds normally).
- ``reset``: close the connection without any response.
- ``truncate``: handle the request for real, then send fewer body bytes than ``Content-Length``
  promises and close the connection (so state changes, e.g. credits, do happen).
- ``lost``: "charged, then the answer is lost": handle the request for real (so a paid call is
  charged and its token or session exists), then drop the answer: ``"reset"`` closes the
  connection without a response, ``"504"`` answers ``504 Processing timeout`` as a gateway that
  gave up would. INVENTED: the pages do not describe this; it is what a proxy timeout looks like.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass

_UNSET: object = object()


@dataclass
class Fault:
    status: int | None = None
    times: int | None = 1
    path: str | None = None
    rate: float | None = None
    latency: float | None = None
    reset: bool = False
    truncate: bool = False
    retry_after: float | None = None
    detail: str | None = None
    lost: str | None = None

    def matches(self, path: str) -> bool:
        if self.path is None:
            return True
        if any(c in self.path for c in "*?["):
            return fnmatch.fnmatchcase(path, self.path)
        return path.startswith(self.path)

    @property
    def kind(self) -> str:
        if self.lost:
            return f"lost {self.lost}"
        if self.reset:
            return "reset"
        if self.truncate:
            return "truncate"
        if self.status is not None:
            return f"status {self.status}"
        return "latency"


class FaultInjector:
    """The armed faults, in the order they were added. Thread-safe."""

    def __init__(self, rng: random.Random | None = None):
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = rng or random.Random()

    def add(
        self,
        status: int | object | None = _UNSET,
        *,
        times: int | None = 1,
        path: str | None = None,
        rate: float | None = None,
        latency: float | None = None,
        reset: bool = False,
        truncate: bool = False,
        retry_after: float | None = None,
        detail: str | None = None,
        lost: str | None = None,
    ) -> Fault:
        if lost not in (None, "reset", "504"):
            raise ValueError('lost must be "reset" or "504"')
        if status is _UNSET:
            # 503 unless the caller asked only for a delay, a reset, a truncation or a loss.
            status = None if (latency is not None or reset or truncate or lost) else 503
        if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
            raise ValueError(f"status must be an HTTP status code, not {status!r}")
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for no limit)")
        fault = Fault(
            status=status,  # type: ignore[arg-type]
            times=times,
            path=path,
            rate=rate,
            latency=latency,
            reset=reset,
            truncate=truncate,
            retry_after=retry_after,
            detail=detail,
            lost=lost,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, path: str) -> Fault | None:
        """The first armed fault that fires for ``path``, consuming one of its ``times``."""
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(path):
                    continue
                if fault.rate is not None and self._rng.random() >= fault.rate:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
