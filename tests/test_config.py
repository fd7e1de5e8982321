"""Tests for pyworkflow.config: source precedence, URL redaction and conversion."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyworkflow.config import (
    DEFAULT_REDIS_URL,
    ConfigError,
    Settings,
    celery_broker_url,
    load_settings,
    log_format,
    redact_url,
    redis_client,
)

ENV_VARS = (
    "PYWORKFLOW_REDIS_URL",
    "PYWORKFLOW_BROKER_URL",
    "PYWORKFLOW_KEY_PREFIX",
    "PYWORKFLOW_DATA_DIR",
    "PYWORKFLOW_LOG_FORMAT",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run each test in an empty directory with no PYWORKFLOW_* variables set."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults(tmp_path: Path) -> None:
    s = load_settings()
    assert s.redis_url == DEFAULT_REDIS_URL
    assert s.broker_url == DEFAULT_REDIS_URL
    assert s.key_prefix == "pyworkflow"
    assert s.data_dir == os.path.join(str(tmp_path), ".pyworkflow")
    assert os.path.isabs(s.data_dir)
    assert s.log_format == "auto"
    assert not s.redis_url_configured and not s.broker_url_configured
    assert s.sources == ()


def test_precedence_env_over_pyworkflow_toml_over_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.pyworkflow]\n'
        'redis_url = "redis://pyproject:6379/0"\nkey_prefix = "from-pyproject"\n'
        'log_format = "json"\n',
    )
    s = load_settings()
    assert s.redis_url == "redis://pyproject:6379/0"
    assert s.key_prefix == "from-pyproject"
    assert s.redis_url_configured

    write(
        tmp_path / "pyworkflow.toml",
        'redis_url = "redis://toml:6379/0"\nkey_prefix = "from-toml"\n',
    )
    s = load_settings()
    assert s.redis_url == "redis://toml:6379/0"
    assert s.key_prefix == "from-toml"
    assert s.log_format == "json"  # still from pyproject: lower sources fill the gaps

    monkeypatch.setenv("PYWORKFLOW_REDIS_URL", "redis://env:6379/0")
    s = load_settings()
    assert s.redis_url == "redis://env:6379/0"
    assert s.key_prefix == "from-toml"


def test_pyworkflow_table_and_explicit_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "pyworkflow.toml", '[pyworkflow]\nkey_prefix = "table"\n')
    assert load_settings().key_prefix == "table"

    sub = tmp_path / "conf"
    sub.mkdir()
    explicit = write(sub / "prod.toml", 'key_prefix = "explicit"\ndata_dir = "state"\n')
    s = load_settings(str(explicit))
    assert s.key_prefix == "explicit"
    # A relative data_dir in a file is relative to that file, not to the cwd.
    assert s.data_dir == str(sub / "state")
    assert str(explicit) in s.sources

    monkeypatch.setenv("PYWORKFLOW_KEY_PREFIX", "env")
    assert load_settings(str(explicit)).key_prefix == "env"


def test_empty_env_value_counts_as_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "pyworkflow.toml", 'redis_url = "redis://toml:6379/0"\n')
    monkeypatch.setenv("PYWORKFLOW_REDIS_URL", "")
    assert load_settings().redis_url == "redis://toml:6379/0"


def test_broker_defaults_to_redis_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWORKFLOW_REDIS_URL", "redis://:pw@cache:6380/2")
    s = load_settings()
    assert s.broker_url == "redis://:pw@cache:6380/2"
    assert s.redis_url_configured and not s.broker_url_configured

    monkeypatch.setenv("PYWORKFLOW_BROKER_URL", "amqp://guest:guest@rabbit:5672//")
    s = load_settings()
    assert s.broker_url == "amqp://guest:guest@rabbit:5672//"
    assert s.broker_url_configured


def test_unix_redis_url_gives_kombu_broker_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWORKFLOW_REDIS_URL", "unix:///run/redis.sock?db=0")
    assert load_settings().broker_url == "redis+socket:///run/redis.sock"


def test_env_data_dir_and_log_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWORKFLOW_DATA_DIR", "rel/dir")
    monkeypatch.setenv("PYWORKFLOW_LOG_FORMAT", "CONSOLE")
    s = load_settings()
    assert s.data_dir == str(tmp_path / "rel" / "dir")
    assert s.log_format == "console"


def test_invalid_log_format_names_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWORKFLOW_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="PYWORKFLOW_LOG_FORMAT"):
        load_settings()


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "pyworkflow.toml", 'redis_url = "unterminated\n')
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(bad) in str(info.value)
    assert "invalid TOML" in str(info.value)


def test_malformed_pyproject_and_explicit_file(tmp_path: Path) -> None:
    explicit = write(tmp_path / "x.toml", "key_prefix = = 1\n")
    with pytest.raises(ConfigError, match="x.toml"):
        load_settings(str(explicit))
    with pytest.raises(ConfigError, match="not found"):
        load_settings(str(tmp_path / "missing.toml"))
    write(tmp_path / "pyproject.toml", "[tool.pyworkflow\n")
    with pytest.raises(ConfigError, match="pyproject.toml"):
        load_settings()


def test_unknown_key_and_wrong_type_rejected(tmp_path: Path) -> None:
    write(tmp_path / "pyworkflow.toml", 'redis_ulr = "redis://h/0"\n')
    with pytest.raises(ConfigError, match="unknown key 'redis_ulr'"):
        load_settings()
    write(tmp_path / "pyworkflow.toml", "key_prefix = 3\n")
    with pytest.raises(ConfigError, match="must be a string"):
        load_settings()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:secret@h:6379/0", "redis://:***@h:6379/0"),
        ("rediss://user:pw@h/1", "rediss://user:***@h/1"),
        ("amqp://guest:guest@rabbit:5672//", "amqp://guest:***@rabbit:5672//"),
        ("amqps://u:p%40ss@mq.example.com/vhost", "amqps://u:***@mq.example.com/vhost"),
        ("redis://token@h:6379", "redis://***@h:6379"),
        ("redis://h:6379/0?password=s3cret&db=1", "redis://h:6379/0?password=***&db=1"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("unix:///tmp/redis.sock?db=0", "unix:///tmp/redis.sock?db=0"),
        ("redis+socket:///tmp/redis.sock", "redis+socket:///tmp/redis.sock"),
        ("not a url", "not a url"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_settings_repr_has_no_password() -> None:
    s = Settings(
        redis_url="rediss://admin:hunter2@h:6380/0",
        broker_url="amqp://guest:topsecret@rabbit//",
    )
    text = repr(s)
    assert "hunter2" not in text and "topsecret" not in text
    assert "rediss://admin:***@h:6380/0" in text
    assert "hunter2" not in str(s)
    assert "hunter2" not in str(s.describe())


def test_with_urls_returns_copy() -> None:
    s = Settings(redis_url="redis://a/0", broker_url="redis://a/0")
    t = s.with_urls("unix:///tmp/r.sock")
    assert s.redis_url == "redis://a/0"
    assert t.redis_url == "unix:///tmp/r.sock"
    assert t.broker_url == "redis+socket:///tmp/r.sock"
    configured = Settings(broker_url="amqp://mq//", broker_url_configured=True)
    assert configured.with_urls("redis://b/0").broker_url == "amqp://mq//"
    assert s.with_urls("redis://b/0", "redis://c/0").broker_url == "redis://c/0"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("unix:///tmp/redis.sock?db=0", "redis+socket:///tmp/redis.sock"),
        ("unix:///tmp/redis.sock", "redis+socket:///tmp/redis.sock"),
        ("unix:///tmp/redis.sock?db=3", "redis+socket:///tmp/redis.sock?virtual_host=3"),
        ("redis://h:6379/0", "redis://h:6379/0"),
        ("amqp://guest@mq//", "amqp://guest@mq//"),
        ("redis+socket:///tmp/redis.sock", "redis+socket:///tmp/redis.sock"),
    ],
)
def test_celery_broker_url(url: str, expected: str) -> None:
    assert celery_broker_url(url) == expected


def test_redis_client_url_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a client of a TCP URL asks its server whether it is a cluster node
    (``INFO cluster``, pyworkflow/redis_cluster.py); there is no server here, so the
    probe answers "a plain server" at once instead of after its 9 s of retries."""
    import pyworkflow.config

    probed: list[object] = []
    monkeypatch.setattr(pyworkflow.config, "is_cluster_node",
                        lambda client: probed.append(client) is not None)
    unix = redis_client("redis+socket:///tmp/x.sock?virtual_host=2")
    kwargs = unix.connection_pool.connection_kwargs
    assert kwargs["path"] == "/tmp/x.sock" and kwargs["db"] == 2
    assert kwargs["decode_responses"] is False
    assert "socket_keepalive" not in kwargs

    tls = redis_client("rediss://u:p@h:6380/1")
    kwargs = tls.connection_pool.connection_kwargs
    assert kwargs["host"] == "h" and kwargs["port"] == 6380 and kwargs["db"] == 1
    assert tls.connection_pool.connection_class.__name__ == "SSLConnection"
    assert kwargs["health_check_interval"] == 30
    assert kwargs["retry"] is not None
    assert probed == [tls]  # a unix socket is never a cluster node: not asked


def test_log_format_comes_from_the_files_too(tmp_path: Path) -> None:
    """Logging is configured from ``log_format()``, before the settings are loaded: a
    ``log_format`` written in a project file reaches it (it used to read only the
    environment, so the file setting never reached a log line)."""
    assert log_format(env={}) is None  # nothing set: the runtime's own default decides
    write(tmp_path / "pyworkflow.toml", 'log_format = "JSON"\n')
    assert log_format(env={}) == "json"
    assert log_format(env={"PYWORKFLOW_LOG_FORMAT": "console"}) == "console"
    other = write(tmp_path / "other.toml", 'log_format = "console"\n')
    assert log_format(env={}, config_file=str(other)) == "console"


def test_log_format_with_unreadable_files_is_left_to_the_runtime(tmp_path: Path) -> None:
    write(tmp_path / "pyworkflow.toml", "log_format = [\n")
    assert log_format(env={}) is None  # the error is for load_settings to report
    write(tmp_path / "pyworkflow.toml", 'log_format = "fancy"\n')
    assert log_format(env={}) is None
