"""The engine is pure and the SDK has no import cycle, checked by reading the imports.

* No module under ``pyworkflow/engine/`` imports redis, celery, kombu, the config or
  the runtime, and none imports inside a function (which would hide a dependency).
* Imported in a fresh interpreter, the engine's whole import closure (the
  pyworkflow modules it reaches and the ``actors`` data types it takes) loads no
  client of an outside system (redis, kombu, celery, starlette, uvicorn) and
  configures no logging: structlog may load (the engine logs through it), but
  only a worker or the CLI configures where lines go.
* Among pyworkflow's modules, counting every import (top level or inside a
  function, but not those only for the type checker), there is no cycle. The
  package's ``__init__`` is the public facade (lazy: it imports a name's home when the
  name is first used); modules never import it, so it is left out of the graph.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pyworkflow"
ENGINE = PACKAGE / "engine"
FORBIDDEN = ("redis", "celery", "kombu", "pyworkflow.config", "pyworkflow.worker._runtime",
             "pyworkflow.client", "pyworkflow.client.aio", "pyworkflow.client.hooks",
             "pyworkflow.hook_records", "pyworkflow.worker.hook_store",
             "pyworkflow.worker.step_task", "pyworkflow.worker.step_leases",
             "pyworkflow.worker.celery_app")


def _all_modules() -> set[str]:
    return {module_name(p) for p in PACKAGE.rglob("*.py")}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


ALL_MODULES: set[str] = set()


def imports(path: Path) -> list[tuple[str, bool]]:
    """(module imported, whether the import is inside a function), skipping
    ``if TYPE_CHECKING:`` blocks."""
    if not ALL_MODULES:
        ALL_MODULES.update(_all_modules())
    tree = ast.parse(path.read_text())
    package = module_name(path) if path.name == "__init__.py" else \
        module_name(path).rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def resolve(node: ast.ImportFrom) -> str:
        if node.level == 0:
            return node.module or ""
        base = package.split(".")
        base = base[:len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((alias.name, inner) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = resolve(child)
                names = [f"{base}.{alias.name}" for alias in child.names]
                submodules = [n for n in names if n in ALL_MODULES]
                # ``from . import sibling`` imports the sibling, not the package's facade
                found.extend((n, inner) for n in (submodules or [base]))
            visit(child, inner)

    visit(tree, False)
    return found


def test_the_engine_imports_nothing_that_does_io() -> None:
    offenders = []
    for path in sorted(ENGINE.rglob("*.py")):
        for name, in_function in imports(path):
            if in_function:
                offenders.append(f"{path.relative_to(PACKAGE)}: imports {name} in a function")
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                offenders.append(f"{path.relative_to(PACKAGE)}: imports {name}")
    assert offenders == []


#: Modules whose loading means the engine reaches an outside system (or serves HTTP).
LOADS_IO = ("redis", "kombu", "celery", "starlette", "uvicorn")

#: Run in a fresh interpreter: import the engine (optionally with the package's root
#: ``__init__`` replaced by a bare package, so only the engine's own closure loads)
#: and print what got loaded.
_PROBE = """
import json, sys, types
if {bare_root!r}:
    root = types.ModuleType("pyworkflow")
    root.__path__ = [{package!r}]
    sys.modules["pyworkflow"] = root
import pyworkflow.engine
import structlog
found = {{"loaded": sorted(sys.modules), "logging_configured": structlog.is_configured()}}
print(json.dumps(found))
"""


def _import_engine(bare_root: bool) -> dict[str, object]:
    code = _PROBE.format(bare_root=bare_root, package=str(PACKAGE))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parent)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _io_modules(loaded: object) -> list[str]:
    assert isinstance(loaded, list)
    return sorted(m for m in loaded if m.split(".")[0] in LOADS_IO)


def test_the_engines_import_closure_loads_no_client() -> None:
    """What importing the engine transitively loads, its package's facade aside."""
    found = _import_engine(bare_root=True)
    assert _io_modules(found["loaded"]) == []
    assert found["logging_configured"] is False


def test_importing_the_engine_through_the_package_loads_no_client() -> None:
    """The facade loads nothing up front (PEP 562), so the engine's closure is all."""
    found = _import_engine(bare_root=False)
    assert _io_modules(found["loaded"]) == []


def test_the_sdk_has_no_import_cycle() -> None:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules.pop("pyworkflow")
    graph = {name: sorted({imp for imp, _ in imports(path) if imp in modules and imp != name})
             for name, path in modules.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt, path + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)
