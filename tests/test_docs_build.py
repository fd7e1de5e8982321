"""The docs site builds with warnings as errors (``mkdocs build --strict``).

mkdocs.yml turns every kind of link check up to a warning (a missing page, a missing
anchor, a page left out of the nav), and the CLI and API references are generated
during the build (mkdocs-click walks ``pyworkflow.cli``; mkdocstrings reads the public
modules' docstrings), so a renamed command or module fails here too. The build runs
into a temporary folder and takes a few seconds. README's links into docs/ are
checked as well, since they must work on GitHub, where no site is built.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_docs_build_strict_without_warnings(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's banner, not a build warning
    # Never -q: mkdocs counts --strict warnings only at the log level it shows.
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(REPO / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    log = built.stdout + built.stderr
    assert built.returncode == 0, log[-5000:]
    problems = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert not problems, "\n".join(problems)
    site = tmp_path / "site"
    cli = (site / "reference" / "cli" / "index.html").read_text()
    for command in ("worker", "runs", "schedules", "hooks", "dead-letters"):
        assert f'id="{command}"' in cli, command
    api = (site / "reference" / "api" / "pyworkflow" / "index.html").read_text()
    for name in ("pyworkflow.workflow", "pyworkflow.step", "pyworkflow.start"):
        assert f'id="{name}"' in api, name


def test_readme_links_into_docs_resolve() -> None:
    readme = (REPO / "README.md").read_text()
    targets = re.findall(r"\]\((docs/[^)#\s]+)(?:#[^)]*)?\)", readme)
    assert targets, "README links into docs/"
    missing = [t for t in targets if not (REPO / t).is_file()]
    assert not missing, missing
