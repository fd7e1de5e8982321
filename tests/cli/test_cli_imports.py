"""What the command line loads: ``pyworkflow worker run`` is a CLI command, so every
module the CLI imports is resident in every worker process; and every ``pyworkflow``
command is a process of its own, which pays for each module it imports (~0.6 s of CPU
when every command's module and Celery were imported for ``--help``).

pydantic costs a worker process ~6 MB (measured: the bench's worker RSS went 181 ->
203 MB when the argument check imported it at module level); only ``workflows run``'s
argument check uses it, so it is imported when that check runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from pyworkflow.cli._commands import ROOT
from pyworkflow.cli._root import cli
from tests._runtime_swap import runtime_on


def test_importing_the_cli_loads_no_pydantic() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, pyworkflow.cli; "
         "print('pydantic' in sys.modules)"], capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "False", probe.stdout + probe.stderr


#: Clients of outside systems: what a command that does not talk to them must not load.
CLIENTS = ("redis", "kombu", "celery")

_LOADED_AFTER = """
import json, sys
from pyworkflow.cli import main
sys.argv = ["pyworkflow", *{args!r}]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _loaded_after(*args: str) -> list[str]:
    """The modules a fresh ``pyworkflow ARGS`` process has loaded when it exits."""
    probe = subprocess.run([sys.executable, "-c", _LOADED_AFTER.format(args=args)],
                           capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(probe.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("no-such-command",)])
def test_help_and_a_bad_command_name_load_no_command(args: tuple[str, ...]) -> None:
    """The root lists its commands from the table (``cli/_commands.py``): no command's
    module, and so no Redis, Celery or client, is imported to print help or an error."""
    loaded = _loaded_after(*args)
    assert [m for m in loaded if m.split(".")[0] in CLIENTS] == []
    commands = {target.partition(":")[0] for target in _all_targets()}
    assert sorted(commands & set(loaded)) == []


def test_a_command_loads_its_own_module_only() -> None:
    loaded = set(_loaded_after("queues", "--help"))
    assert "pyworkflow.cli.queues" in loaded
    assert {"pyworkflow.cli.web", "pyworkflow.cli.workflows", "pyworkflow.cli.schedules",
            "pyworkflow.cli.runs"} & loaded == set()


def _all_targets() -> list[str]:
    return [c.target for c in ROOT.values()]


def test_each_summary_in_the_table_is_its_commands_own() -> None:
    """``--help`` lists a command by the table's summary: it must say what the command's
    docstring says, and the name must be the one the command answers to."""
    for name, entry in ROOT.items():
        command = entry.load()
        assert command.get_short_help_str(10_000) == entry.summary, name
        assert command.name == name, entry.target
    assert cli.list_commands(click.Context(cli)) == sorted(ROOT)


def test_a_group_comes_with_every_subcommand() -> None:
    """A group loads with the commands other modules add to it, so ``group.commands``
    is whole for what reads it (mkdocs-click builds the CLI reference from it)."""
    runs = ROOT["runs"].load()
    schedules = ROOT["schedules"].load()
    assert isinstance(runs, click.Group) and isinstance(schedules, click.Group)
    assert {"list", "status", "logs", "children", "chain", "check", "cancel", "retry",
            "export", "signal", "values", "purge"} <= set(runs.commands)
    assert {"create", "list", "import-beat"} <= set(schedules.commands)


def test_the_listing_is_clicks_own() -> None:
    """Every command loaded, click's own ``--help`` listing and the lazy one agree."""
    lazy_help = CliRunner().invoke(cli, ["--help"], prog_name="pyworkflow").output
    eager = click.Group("pyworkflow", commands={n: c.load() for n, c in ROOT.items()},
                        params=cli.params, help=cli.help)
    eager_help = CliRunner().invoke(eager, ["--help"], prog_name="pyworkflow").output
    assert lazy_help == eager_help



@pytest.fixture(scope="module")
def a_run(redis_env: dict[str, str]) -> Iterator[str]:
    """A run that is started (no worker takes it: it stays pending), for commands to read,
    under a key prefix of its own: its turn task waits in its own queue, where no other
    test's worker or backlog count meets it; the prefix's keys go at the end."""
    import tests.client_workflows  # noqa: F401  (defines client_quick)
    from pyworkflow import client
    from pyworkflow.worker import _runtime

    prefix = f"{redis_env['PYWORKFLOW_KEY_PREFIX']}-reads"
    with runtime_on({"PYWORKFLOW_KEY_PREFIX": prefix}):
        redis = _runtime.runtime().redis
        try:
            yield str(client.start("client_quick", 5))
        finally:
            for pattern in (f"{prefix}*", f"_kombu.binding.{prefix}*",
                            f"_kombu.binding_permanent.{prefix}*"):
                for key in list(redis.scan_iter(match=pattern, count=1000)):
                    redis.delete(key)


def _reads(*args: str) -> tuple[set[str], str]:
    """The modules a fresh ``pyworkflow ARGS`` process has loaded, and what it printed."""
    probe = subprocess.run([sys.executable, "-c", _LOADED_AFTER.format(args=args)],
                           capture_output=True, text=True, check=True)
    printed, _, modules = probe.stdout.strip().rpartition("\n")
    return set(json.loads(modules)), printed + probe.stderr


#: Commands that only read Redis (a cancel of a run that does not exist sends nothing):
#: ``RUN`` is the started run's id.
READS_REDIS = [("runs", "list"), ("runs", "status", "RUN"), ("--output", "json", "runs", "list"),
               ("runs", "cancel", "run-nosuch"), ("schedules", "list"), ("dead-letters", "list")]


@pytest.mark.parametrize("args", READS_REDIS, ids=" ".join)
def test_a_command_that_only_reads_redis_loads_no_celery(args: tuple[str, ...],
                                                         a_run: str) -> None:
    """The runtime builds its actor system and Celery app on the first send
    (``worker._runtime``): a command that only reads pays for Redis's client alone
    (~0.5 s of CPU each when Celery, Kombu and the engine came with it)."""
    loaded, printed = _reads(*(a_run if a == "RUN" else a for a in args))
    if "runs" in args and "cancel" not in args:
        assert a_run in printed  # it did read Redis
    assert "redis" in loaded and "Traceback" not in printed and "not answering" not in printed
    assert sorted(m for m in loaded if m.split(".")[0] in ("celery", "kombu")) == []
    assert "pyworkflow.engine" not in loaded


_CLIENT_READS = """
import json, sys
from pyworkflow import client
from pyworkflow.errors import RunNotFoundError
runs = client.list_workflow_runs(limit=100)
assert {run!r} in [info.run_id for info in runs], runs
assert client.get_workflow_run({run!r}).workflow == "client_quick"
client.get_workflow_events({run!r})
try:
    client.get_workflow_run("run-nosuch")
except RunNotFoundError:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def test_the_clients_reads_load_no_celery(a_run: str) -> None:
    probe = subprocess.run([sys.executable, "-c", _CLIENT_READS.format(run=a_run)],
                           capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    loaded = set(json.loads(probe.stdout.strip().splitlines()[-1]))
    assert sorted(m for m in loaded if m.split(".")[0] in ("celery", "kombu")) == []


def test_queues_list_reads_the_broker_without_celery(a_run: str) -> None:
    """Backlogs are read through a Kombu connection of the app's form
    (``worker.broker.read_connection``), with no Celery app built."""
    loaded, printed = _reads("--output", "json", "queues", "list")
    report = json.loads(printed)
    default = next(q for q in report["queues"] if q["queue"] == "default")
    assert default["turns_waiting"] >= 1  # a_run's first turn, which no worker took
    assert sorted(m for m in loaded if m.split(".")[0] == "celery") == []
    assert "pyworkflow.engine" not in loaded
