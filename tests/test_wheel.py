"""A built wheel works, not only the editable install the tests run from.

Builds the wheel, installs it into a fresh virtual environment (with only its
declared dependencies) and, from a folder outside the checkout, imports both
packages, reads every Lua script through the installed package, and runs the CLI.
This is what catches a script or a dependency left out of the package metadata.

The distribution is named ``durable-celery`` (``pyworkflow`` on PyPI is another
project); it installs the import package ``pyworkflow`` and the ``pyworkflow`` script.
"""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DIST = "durable-celery"

CHECK = """
import importlib.metadata as m, importlib.resources as r
import actors, pyworkflow, pyworkflow.client.aio, pydantic
assert pyworkflow.__file__.startswith({site!r}), pyworkflow.__file__
dist = m.distribution({dist!r})
assert dist.metadata["Name"] == {dist!r}, dist.metadata["Name"]
owners = m.packages_distributions()["pyworkflow"]  # who installed the import package
assert owners == [{dist!r}], owners
assert [e.value for e in dist.entry_points if e.name == "pyworkflow"] == ["pyworkflow.cli:main"]
actor_lua = [p.name for p in r.files("actors").joinpath("lua").iterdir() if p.name.endswith(".lua")]
pw_lua = [p.name for p in r.files("pyworkflow").joinpath("worker").iterdir()
          if p.name.endswith(".lua")]
assert "commit.lua" in actor_lua and pw_lua, (actor_lua, pw_lua)
for name in actor_lua:
    assert r.files("actors").joinpath("lua", name).read_text().strip()
print("ok", len(actor_lua), len(pw_lua))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(out), str(REPO)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    assert "license" not in built.stderr.lower(), built.stderr  # no license deprecation
    wheels = list(out.glob("*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == [DIST.replace("-", "_")], wheels
    return wheels[0]


def test_wheel_holds_both_packages_and_their_lua_scripts(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    scripts = {str(p.relative_to(REPO)) for pkg in ("actors", "pyworkflow")
               for p in (REPO / pkg).rglob("*.lua")}
    assert len(scripts) > 10
    assert scripts <= names, sorted(scripts - names)
    assert not any(n.startswith(("tests/", "examples/")) for n in names)


def test_wheel_installs_into_a_fresh_environment_and_runs(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    installed = subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    checked = subprocess.run([str(py), "-c", CHECK.format(site=site, dist=DIST)], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert checked.stdout.startswith("ok")
    version = subprocess.run([str(env_dir / "bin" / "pyworkflow"), "--version"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == "pyworkflow, version 0.1.0"
