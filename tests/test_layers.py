"""The package tree shows the layers: checked by reading every module's imports.

* Production code never imports :mod:`pyworkflow.testing` (the public face for tests):
  what it needs of the in-process runtime is :mod:`pyworkflow.local`.
* ``pyworkflow.worker`` (Celery tasks, Redis ports) imports neither the client, the
  workflow half, the in-process runtimes nor the tools on top (cli, web): they stand
  on it, never the reverse, so a package ``__init__`` can never close a cycle.
* The workflow half (``pyworkflow.workflow_api``) reaches no Redis: it imports neither
  the worker, the client nor the tools.
* The client imports neither the workflow half, the in-process runtimes nor the tools.
* The shared vocabulary at the root (ids, keys, events, errors, ...) imports only the
  root and ``wire/``.
* Nothing inside the package imports an old flat path (:mod:`pyworkflow._moved`).

Every import counts: top level, inside a function or for the type checker only.
"""

from __future__ import annotations

import ast
from pathlib import Path

from pyworkflow._moved import MOVED

PACKAGE = Path(__file__).resolve().parents[1] / "pyworkflow"
ROOT_EXEMPT = {"pyworkflow", "pyworkflow.__main__", "pyworkflow._moved"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, by absolute dotted name (for ``from X import y``,
    both X and X.y: y may be a submodule)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def modules() -> dict[str, set[str]]:
    return {module_name(p): imported(p) for p in sorted(PACKAGE.rglob("*.py"))}


def within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def offenders(importer: tuple[str, ...], forbidden: tuple[str, ...],
              exempt: set[str] | None = None) -> list[str]:
    return sorted(f"{mod} imports {imp}" for mod, imps in modules().items()
                  if within(mod, *importer) and mod not in (exempt or set())
                  for imp in imps if within(imp, *forbidden))


def test_production_code_never_imports_the_testing_face() -> None:
    found = sorted(f"{mod} imports {imp}" for mod, imps in modules().items()
                   if not within(mod, "pyworkflow.testing")
                   for imp in imps if within(imp, "pyworkflow.testing"))
    assert found == []


def test_the_worker_stands_on_nothing_above_it() -> None:
    assert offenders(("pyworkflow.worker",),
                     ("pyworkflow.client", "pyworkflow.workflow_api", "pyworkflow.local",
                      "pyworkflow.testing", "pyworkflow.cli", "pyworkflow.web")) == []


def test_the_workflow_half_reaches_no_redis() -> None:
    assert offenders(("pyworkflow.workflow_api",),
                     ("pyworkflow.worker", "pyworkflow.client", "pyworkflow.config",
                      "pyworkflow.testing", "pyworkflow.cli", "pyworkflow.web", "redis",
                      "celery", "kombu")) == []


def test_the_client_imports_no_workflow_half_nor_in_process_runtime() -> None:
    assert offenders(("pyworkflow.client",),
                     ("pyworkflow.workflow_api", "pyworkflow.local", "pyworkflow.testing",
                      "pyworkflow.cli", "pyworkflow.web")) == []


def test_the_shared_vocabulary_imports_only_itself_and_wire() -> None:
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    root = {module_name(p) for p in PACKAGE.glob("*.py")} - ROOT_EXEMPT
    found = sorted(f"{mod} imports {imp}" for mod, imps in modules().items() if mod in root
                   for imp in imps if within(imp, "pyworkflow") and imp.count(".") >= 1
                   and imp.split(".")[1] in subpackages - {"wire"})
    assert found == []


def test_nothing_inside_the_package_uses_an_old_path() -> None:
    found = sorted(f"{mod} imports {imp}" for mod, imps in modules().items()
                   if mod not in ROOT_EXEMPT for imp in imps if imp in MOVED)
    assert found == []
