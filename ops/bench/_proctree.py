"""Memory and CPU of a process tree, read from /proc (no psutil).

* ``tree(pid)``: the pid and all its descendants alive now.
* ``cpu_seconds(pid)``: user + system CPU of the tree: each live process's own
  time, plus what its reaped children left in its ``cutime``/``cstime``.
* ``TreeSampler``: a thread that samples the summed RSS (and PSS, where
  ``/proc/<pid>/smaps_rollup`` is readable) of named trees and keeps each peak.

Linux only; elsewhere every figure is ``None`` and the bench says so.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
AVAILABLE = os.path.isdir("/proc/self")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return raw[raw.rindex(")") + 2:].split()


def tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (via each process's ``children`` file)."""
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        if not os.path.exists(f"/proc/{p}"):
            continue
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return out


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds of the trees under ``pids``, reaped children included."""
    if not AVAILABLE:
        return None
    ticks = 0
    for p in (q for pid in pids for q in tree(pid)):
        fields = _stat_fields(p)
        if fields:
            # after the name: state(0) ... utime(11) stime(12) cutime(13) cstime(14)
            ticks += sum(int(x) for x in fields[11:15])
    return ticks / _TICK


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss_bytes(pid: int) -> int | None:
    """PSS from ``smaps_rollup`` (None where it is not readable)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def tree_memory(pids: list[int]) -> tuple[int, int | None]:
    """(RSS, PSS) summed over the trees under ``pids``; PSS None if any process's is
    unreadable."""
    rss, pss = 0, 0
    pss_ok = True
    for p in (q for pid in pids for q in tree(pid)):
        rss += rss_bytes(p)
        value = pss_bytes(p)
        if value is None:
            pss_ok = False
        else:
            pss += value
    return rss, (pss if pss_ok else None)


@dataclass
class Peak:
    rss: int = 0
    pss: int | None = None
    last_rss: int = 0
    last_pss: int | None = None
    samples: int = 0


class TreeSampler:
    """Samples the RSS/PSS of named process trees every ``interval`` seconds (a name
    may cover several roots: ``--workers 2``)."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.roots: dict[str, list[int]] = {}
        self.peaks: dict[str, Peak] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, name: str, pids: list[int]) -> None:
        with self._lock:
            self.roots[name] = list(pids)
            self.peaks.setdefault(name, Peak())

    def sample(self) -> None:
        with self._lock:
            roots = dict(self.roots)
        for name, pids in roots.items():
            rss, pss = tree_memory(pids)
            if not rss:
                continue
            with self._lock:
                peak = self.peaks[name]
                peak.samples += 1
                peak.last_rss, peak.last_pss = rss, pss
                peak.rss = max(peak.rss, rss)
                if pss is not None:
                    peak.pss = pss if peak.pss is None else max(peak.pss, pss)

    def current(self, name: str) -> tuple[int, int | None]:
        with self._lock:
            pids = self.roots[name]
        return tree_memory(pids)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> None:
        if AVAILABLE and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="bench-rss", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
