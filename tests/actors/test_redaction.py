"""One redactor for logs, settings and errors, checked with every URL form we accept."""

from __future__ import annotations

import io
import logging

import kombu.utils.url
import pytest
import redis.connection

from actors import log as actors_log
from actors.redaction import redact, redact_url
from pyworkflow.config import (
    ConfigError,
    Settings,
    celery_broker_url,
    load_settings,
    normalize_url,
)
from tests._secrets import ENCODED, SECRET, shows_secret

URL_FORMS = [
    # (url, what must still be visible)
    (f"redis://:{SECRET}@cache.example:6379/0", "@cache.example:6379/0"),
    (f"redis://app:{SECRET}@cache.example:6379/0", "redis://app:***@cache.example"),
    (f"redis://{SECRET}@cache.example", "@cache.example"),  # bare token
    (f"rediss://:{ENCODED}@cache.example:6380/1", "rediss://:***@cache.example:6380/1"),
    (f"rediss://app:{ENCODED}@cache.example", "rediss://app:***@cache.example"),
    (f"redis://{ENCODED}@cache.example/0", "redis://***@cache.example/0"),
    (f"redis://cache.example:6379/0?password={ENCODED}", "redis://cache.example:6379/0?password="),
    (f"redis://cache.example/0?db=2&password={ENCODED}&ssl=1",
     "redis://cache.example/0?db=2&password=***&ssl=1"),
    (f"unix://:{ENCODED}@/tmp/redis.sock?db=0", "unix://:***@/tmp/redis.sock"),
    (f"unix:///tmp/redis.sock?db=0&password={ENCODED}", "unix:///tmp/redis.sock?db=0&password="),
    (f"redis+socket://:{ENCODED}@/tmp/redis.sock", "redis+socket://:***@/tmp/redis.sock"),
    (f"amqp://guest:{ENCODED}@rabbit:5672//", "amqp://guest:***@rabbit:5672//"),
    (f"amqp://guest:{SECRET}@rabbit/vhost", "@rabbit/vhost"),
    (f"redis://:{ENCODED}@[::1]:6379/0", "redis://:***@[::1]:6379/0"),
    (f"sentinel://:{ENCODED}@s1:26379;sentinel://:{ENCODED}@s2:26379",
     "sentinel://:***@s1:26379;sentinel://:***@s2:26379"),
    (f"redis://cache.example/0?token={ENCODED}", "redis://cache.example/0?token=***"),
    (f"redis://cache.example/0?sentinel_password={ENCODED}", "sentinel_password=***"),
]


@pytest.mark.parametrize(("url", "visible"), URL_FORMS)
def test_every_url_form_is_redacted_alone_in_text_and_in_settings(url: str, visible: str) -> None:
    assert shows_secret(redact_url(url)) == []
    assert visible in redact_url(url)
    sentence = f"Error connecting to {url}: Connection refused ('{url}', \"{url}\")"
    assert shows_secret(redact(sentence)) == []
    assert "Connection refused" in redact(sentence)
    settings = Settings(redis_url=url, broker_url=url)
    assert shows_secret(repr(settings)) == []
    assert shows_secret(str(settings.describe())) == []


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_log_lines_and_tracebacks_never_show_the_secret(fmt: str) -> None:
    stream = io.StringIO()
    actors_log.configure(fmt=fmt, force=True, stream=stream)
    try:
        for url, _ in URL_FORMS:
            actors_log.get_logger("t").warning("cannot connect", url=url, urls=[url])
            logging.getLogger("kombu.connection").error("Cannot connect to %s", url)
            try:
                raise ConnectionError(f"Error while reading from {url}")
            except ConnectionError:
                actors_log.get_logger("t").exception("turn failed")
                logging.getLogger("celery.worker").exception("task failed")
        kwargs_repr = f"Redis<host=h,port=6379,password={ENCODED}> {{'password': '{SECRET}'}}"
        actors_log.get_logger("t").error(kwargs_repr)
    finally:
        actors_log.configure(force=True)
    text = stream.getvalue()
    assert "cannot connect" in text and "Error while reading from" in text
    assert shows_secret(text) == []


@pytest.mark.parametrize("raw", [
    SECRET, "pa/ss", "p@ss:w/rd", "a#b?c", "100%pure", "already%2Fencoded", "sp ace"])
def test_a_raw_password_is_encoded_so_redis_and_kombu_read_it_back_whole(raw: str) -> None:
    url = normalize_url(f"redis://app:{raw}@cache.example:6379/3", "test")
    parsed = redis.connection.parse_url(url)
    expected = raw.replace("%2F", "/")  # a %XX the user wrote is taken as encoded
    assert parsed["password"] == expected
    assert parsed["host"] == "cache.example" and parsed["port"] == 6379 and parsed["db"] == 3
    assert kombu.utils.url.url_to_parts(url).password == expected
    assert normalize_url(url, "test") == url  # normalising twice changes nothing


def test_a_bad_url_is_refused_naming_its_variable_without_the_secret(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYWORKFLOW_REDIS_URL", f"redis://:{SECRET}@cache.example:63x9/0")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "PYWORKFLOW_REDIS_URL" in str(caught.value)
    assert shows_secret(str(caught.value)) == []
    monkeypatch.setenv("PYWORKFLOW_REDIS_URL", f"cache.example:{SECRET}")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert shows_secret(str(caught.value)) == []


def test_a_configured_password_is_hidden_even_quoted_without_its_url(
        monkeypatch: pytest.MonkeyPatch) -> None:
    password = "Zu8/Qp4#Lm2?"
    monkeypatch.setenv("PYWORKFLOW_BROKER_URL", f"amqp://svc:{password}@rabbit//")
    settings = load_settings()
    assert kombu.utils.url.url_to_parts(settings.broker_url).password == password
    shown = redact(f"AUTH failed: WRONGPASS for svc/{password}")
    assert shown == "AUTH failed: WRONGPASS for svc/***"


def test_a_query_password_redis_accepts_is_moved_where_kombu_reads_it() -> None:
    url = celery_broker_url(f"redis://127.0.0.1:6379/0?password={ENCODED}&ssl_cert_reqs=none")
    assert kombu.utils.url.url_to_parts(url).password == SECRET
    assert kombu.utils.url.parse_url(url)["transport"] == "redis"
    assert shows_secret(redact_url(url)) == []
