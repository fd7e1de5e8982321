"""A click group that imports a subcommand's module only when the command is named.

Each command module loads what its commands need (the client, Redis, Celery, the web
server), and ``pyworkflow`` runs as a fresh process per command: importing every
module for every command cost ~0.7 s of CPU a process, most of it for code the
command never ran. This is click's documented pattern for it ("Lazily Loading
Subcommands"): the group knows its commands by name and ``module:attribute`` (the
tables are in :mod:`._commands`), imports one when it is invoked, and lists them in
``--help`` from the table's one-line summaries, so help loads none of them.

Only the root is lazy: a group's own subcommands load with it (see ``_commands``), so
``group.commands`` is complete for tools that read it (mkdocs-click, for the docs).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click
from click.formatting import HelpFormatter


@dataclass(frozen=True)
class LazyCommand:
    """Where a command is defined (``"pyworkflow.cli.web:web"``) and the line ``--help``
    lists for it: its docstring's first sentence (tests/cli/test_cli_imports.py checks
    that they agree)."""

    target: str
    summary: str

    def load(self) -> click.Command:
        module, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


class LazyGroup(click.Group):
    """A group with eager commands (``@group.command``) and lazy ones (``lazy=``)."""

    def __init__(self, *args: Any, lazy: Mapping[str, LazyCommand] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, LazyCommand] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(self.lazy[cmd_name].load(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: HelpFormatter) -> None:
        """click's listing, with a command not loaded yet shown by its table summary."""
        rows: list[tuple[str, str]] = []
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        for name in names:
            command = self.commands.get(name)
            if command is None:
                rows.append((name, click.Command(name, help=self.lazy[name].summary)
                             .get_short_help_str(limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
