#!/usr/bin/env python3
"""The project's two commands, for a machine with nothing but Python 3.11+.

    python3 dev.py demo   # install, start Redis (embedded if none) and a worker,
                          # run order_workflow, print its result and event log, stop
    python3 dev.py test   # install, run the whole test suite against a real Redis

Everything goes into ./.venv; a re-run skips the install when pyproject.toml has
not changed. Extra arguments after ``test`` go to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def _ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py runs before anything is installed)
        sys.exit(f"pyworkflow needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print(f"[dev] creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{extras}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"[dev] installing pyworkflow[{extras}] into {VENV}", flush=True)
    subprocess.run([str(PY), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(PY), "-m", "pip", "install", "-q", "-e", f".[{extras}]"], cwd=ROOT,
                   check=True)
    stamp.write_text(digest)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "demo":
        _ensure_venv("embedded")
        return subprocess.call([str(PY), "-m", "pyworkflow.demo", *rest], cwd=ROOT)
    _ensure_venv("test")
    return subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
