# Kombu ships type hints for few of its functions; calls into it are not
# held to --strict (everything else in this module is).
# mypy: untyped-calls-exclude=kombu
"""``pyworkflow setup [--check]``: is everything a run needs in place?

Each check is one line, ✓ or ✗, and a failing one says how to fix it: the
first command a newcomer runs must explain, not throw a traceback. Checks are
ordered by dependency (Redis, broker, your module, a worker); one whose
prerequisite failed is skipped rather than reported as a second, confusing
failure. Redis is probed with a client of its own that does not retry: the
runtime's client retries for ~9 s to ride out a restart, which is right for a
worker and wrong for a health check.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass
from typing import Any

import click
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from actors.sentinel import kombu_form

from .. import registry
from ..config import load_settings, redact_url, redis_client
from ..worker import _runtime
from ..worker.celery_app import queue_names
from ..worker.retention import RunRetention
from . import _output as out
from .needs_redis import START_REDIS as _START_REDIS
from .needs_redis import redis_fix as _redis_fix
from .needs_redis import short as _short

_TIMEOUT = 2.0
_PING_TIMEOUT = 1.5
_MIN_REDIS = (6, 2)


@dataclass
class Check:
    """One line of the report; ``ok`` is None when the check was skipped."""

    name: str
    ok: bool | None
    detail: str
    fix: str = ""

    def line(self) -> str:
        sign = "-" if self.ok is None else out.mark(self.ok)
        return f"{sign} {self.detail}" + (f": {self.fix}" if self.fix and not self.ok else "")


def check_redis(settings: Any) -> Check:
    url = redact_url(settings.redis_url)
    where = f"{url} (embedded)" if settings.embedded else url
    client = redis_client(settings.redis_url, retries=0, socket_timeout=_TIMEOUT,
                          socket_connect_timeout=_TIMEOUT, health_check_interval=0)
    try:
        client.ping()
        info = client.info("server")
    except Exception as exc:
        return Check("redis", False, f"Redis at {where} is not answering ({_short(exc)})",
                     _redis_fix(settings))
    finally:
        client.close()
    version = str(info.get("valkey_version") or info.get("redis_version") or "?")
    numbers = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if len(numbers) == 2 and numbers < _MIN_REDIS:
        return Check("redis", False, f"Redis at {where} is version {version}",
                     "pyworkflow needs Redis 6.2 or newer; upgrade it")
    return Check("redis", True, f"Redis {version} at {where} answers PING")


def check_broker(settings: Any) -> Check:
    from kombu.connection import Connection

    url = redact_url(settings.broker_url)
    broker, options = kombu_form(settings.broker_url)  # a sentinel URL: Kombu's own form
    conn = Connection(broker, connect_timeout=_TIMEOUT, transport_options=options)
    try:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                               timeout=_TIMEOUT)
    except Exception as exc:
        fix = ("start it, or check PYWORKFLOW_BROKER_URL" if settings.broker_url_configured
               else "it is the same server as Redis: fix Redis first")
        return Check("broker", False, f"broker at {url} is not reachable ({_short(exc)})", fix)
    finally:
        conn.release()
    return Check("broker", True, f"broker at {url} is reachable")


def check_module(module: str | None) -> Check:
    if not module:
        return Check("module", None, "no --module given, so your workflows were not checked: "
                     "run pyworkflow --module your.workflows setup --check")
    try:  # already imported by --module; PYWORKFLOW_MODULE alone is imported here
        importlib.import_module(module)
    except Exception as exc:
        return Check("module", False, f"cannot import module {module} ({_short(exc)})",
                     "run pyworkflow from the folder that contains it, or check the name")
    names = sorted(wf.name for wf in registry.list_workflows())
    steps = len(registry.list_steps())
    if not names:
        return Check("module", False, f"module {module} imports but registers no workflows",
                     "decorate your workflow functions with @workflow")
    shown = out.truncate(", ".join(names), 60)
    return Check("module", True, f"module {module} registers {len(names)} workflow(s) ({shown}) "
                 f"and {steps} step(s)")


def check_worker(rt: Any, module: str | None) -> Check:
    start = f"pyworkflow --module {module or 'your.workflows'} worker run"
    replies = rt.celery.control.ping(timeout=_PING_TIMEOUT) or []
    hosts = sorted(name for reply in replies for name in reply)
    if not hosts:
        return Check("worker", False, f"no worker answered within {_PING_TIMEOUT}s",
                     f"start one with: {start}")
    # Workers of another deployment (other key prefix) on the same broker answer pings too.
    wanted = set(rt.queues.values())
    queues = rt.celery.control.inspect(destination=hosts, timeout=_PING_TIMEOUT).active_queues()
    ours = sorted(h for h, qs in (queues or {}).items() if wanted & {q.get("name") for q in qs})
    if not ours:
        return Check("worker", False, f"{len(hosts)} worker(s) answered but none consumes "
                     f"{', '.join(sorted(wanted))}", f"start one with: {start}")
    alive = out.truncate(", ".join(ours), 60)
    return Check("worker", True, f"{len(ours)} worker(s) alive: {alive}")


def run_checks(module: str | None) -> list[Check]:
    """All checks, in dependency order; a check whose prerequisite failed is skipped."""
    configured = load_settings(_runtime.config_file())
    if configured.redis_url_configured:
        # Asked once, before the runtime is built: the runtime's client retries a lost
        # connection for about 9 s (to ride out a restart), which made a check of a
        # Redis that is down take 10 s to say so.
        redis_check = check_redis(configured)
        if not redis_check.ok:
            return [redis_check, check_broker(configured), check_module(module),
                    Check("worker", None, "worker: skipped (Redis not answering)")]
    try:
        rt = _runtime.runtime()
    except Exception as exc:
        fix = ("install the embedded server (pip install 'durable-celery[embedded]') or start a "
               f"Redis ({_START_REDIS})")
        return [Check("redis", False, f"cannot set up Redis: {_short(exc)}", fix),
                Check("broker", None, "broker: skipped (no Redis)"),
                check_module(module),
                Check("worker", None, "worker: skipped (no Redis)")]
    checks = [check_redis(rt.settings), check_broker(rt.settings), check_module(module)]
    if checks[1].ok:
        checks.append(check_worker(rt, module))
    else:
        checks.append(Check("worker", None, "worker: skipped (broker unreachable)"))
    if checks[0].ok:
        checks.append(check_memory(rt))
    return checks


def check_memory(rt: Any) -> Check:
    """Redis memory use, and finished runs already past their retention (a growing
    number means no worker is running the purge)."""
    try:
        used = rt.redis.info("memory").get("used_memory_human", "?")
        due = RunRetention(rt.redis, rt.settings.key_prefix, rt.system).past_retention()
    except (RedisConnectionError, RedisTimeoutError) as exc:
        return Check("memory", False, f"cannot read Redis memory use ({_short(exc)})")
    retention = rt.settings.run_retention
    kept = "forever" if retention is None else out.format_duration(retention)
    detail = (f"Redis uses {used}; {due} finished run(s) past retention (finished runs are "
              f"kept {kept})")
    if due > 1000:
        return Check("memory", False, detail, "start a worker: its maintenance loop purges "
                     "them (or run pyworkflow runs purge)")
    return Check("memory", True, detail)


def _module(ctx: click.Context) -> str | None:
    return ctx.find_root().obj.get("module") or None


@click.command()
@click.option("--check", is_flag=True, help="Check Redis, the broker, your module and workers.")
@click.pass_context
def setup(ctx: click.Context, check: bool) -> None:
    """Show the configuration, or check that it all works (--check)."""
    out.keep_stdout_clean()
    module = _module(ctx)
    if check:
        checks = run_checks(module)
        passed = all(c.ok is not False for c in checks)
        if out.is_json():
            out.emit_json({"ok": passed, "checks": [asdict(c) for c in checks]})
        else:
            for c in checks:
                click.echo(c.line())
        raise click.exceptions.Exit(0 if passed else 1)
    _describe(module)


def _describe(module: str | None) -> None:
    # Showing the configuration connects to nothing when the URL is given: only where
    # it is not does the runtime decide (the local server, or the embedded one).
    settings = load_settings(_runtime.config_file())
    if not settings.redis_url_configured:
        settings = _runtime.runtime().settings
    config = settings.describe()
    config["module"] = module
    config["queues"] = queue_names(settings.key_prefix)
    plan = [f"Redis answers at {config['redis_url']}", f"the broker answers at "
            f"{config['broker_url']}", "--module imports and registers workflows",
            "a worker is alive and consumes this deployment's queues"]
    if out.is_json():
        out.emit_json({"config": config, "checks": plan})
        return
    click.echo("Configuration in use:")
    out.print_fields([(f"  {k}", out.compact(v) if not isinstance(v, str) else v)
                      for k, v in config.items()])
    click.echo("\n`pyworkflow setup --check` checks that:")
    for i, item in enumerate(plan, 1):
        click.echo(f"  {i}. {item}")
