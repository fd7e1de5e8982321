"""``--runtime local`` with a Redis: a run stopped by Ctrl-C or killed outright
continues with ``workflows run NAME --resume RUN_ID``, each completed step run once,
a step that was in flight run again; one process runs a local run at a time, and a
process that stalled past its claim never saves over the one that took the run
over; a malformed saved run is refused with what is wrong."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from pyworkflow import keys
from pyworkflow.config import redis_client
from pyworkflow.local.journal import OWNER_TTL_S, LocalJournal, LocalRunError, RunTakenOver
from pyworkflow.local.runtime import LocalRuntime
from tests._workers import PYWORKFLOW, REPO
from tests.local_resume_workflows import sleeper

MODULE = "tests.local_resume_workflows"

# A local run saves its journal in Redis (the suite's, under the session's prefix).
pytestmark = pytest.mark.redis


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "LR_MARKS": str(tmp_path / "marks"),
            "LR_RELEASE": str(tmp_path / "release")}


def _cli(*args: str) -> list[str]:
    return [PYWORKFLOW, "--runtime", "local", "-m", MODULE, "workflows", "run", *args]


def _marks(tmp_path: Path) -> list[str]:
    path = tmp_path / "marks"
    return path.read_text().split() if path.exists() else []


def _until(what: str, check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _saved_event_types(run_id: str) -> list[str]:
    client = redis_client(os.environ["PYWORKFLOW_REDIS_URL"])
    raw = client.lrange(keys.local_run_events(os.environ["PYWORKFLOW_KEY_PREFIX"], run_id), 0, -1)
    return [json.loads(item)[1]["type"] for item in raw]


def _started(proc: subprocess.Popen[str]) -> str:
    """The run id from the 'Started ...' line (stderr)."""
    assert proc.stderr is not None
    for line in proc.stderr:
        found = re.search(r"run (run-[0-9a-f]+) \(local\)", line)
        if found:
            return found.group(1)
    raise AssertionError("the command never said which run it started")


def test_a_run_stopped_by_ctrl_c_resumes_where_it_stopped(tmp_path: Path) -> None:
    env = _env(tmp_path)
    # SIGINT as a terminal gives it, even when the suite itself was started where SIGINT
    # is ignored (a background job of a shell without job control), which the CLI would
    # inherit: it then ran to the end and exited 0
    proc = subprocess.Popen(_cli("lr_resume_sleeper", "--arg", "label=a"), cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    run_id = _started(proc)
    _until("the sleep to be saved", lambda: "sleep_started" in _saved_event_types(run_id))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert f"is saved; continue it with: pyworkflow --runtime local -m {MODULE} workflows run " \
           f"lr_resume_sleeper --resume {run_id}" in err
    assert _marks(tmp_path) == ["a-one"]

    done = subprocess.run(_cli("lr_resume_sleeper", "--resume", run_id), cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "events already in its journal" in done.stderr
    assert 'Result: ["a-one", "a-two"]' in done.stdout
    assert "workflow_started" not in done.stdout  # earlier events are not told again
    assert "sleep_completed" in done.stdout
    assert _marks(tmp_path) == ["a-one", "a-two"]  # the first step did not run again
    assert _saved_event_types(run_id)[-1] == "workflow_completed"


def test_a_killed_run_waits_for_its_claim_to_lapse_and_reruns_the_step_in_flight(
        tmp_path: Path) -> None:
    env = _env(tmp_path)
    proc = subprocess.Popen(_cli("lr_resume_holder"), cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = _started(proc)
    _until("the held step to start", lambda: "hold-started" in _marks(tmp_path))
    proc.kill()
    proc.wait(timeout=10)

    refused = subprocess.run(_cli("lr_resume_holder", "--resume", run_id), cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "is being run by another process" in refused.stderr
    assert "Traceback" not in refused.stderr

    (tmp_path / "release").touch()
    results: list[subprocess.CompletedProcess[str]] = []

    def resumed() -> bool:
        results.append(subprocess.run(_cli("lr_resume_holder", "--resume", run_id), cwd=REPO,
                                      env=env, capture_output=True, text=True, timeout=60))
        return results[-1].returncode == 0

    _until("the claim to lapse", resumed, seconds=OWNER_TTL_S + 30)
    assert 'Result: ["before", "held", "after"]' in results[-1].stdout
    assert _marks(tmp_path) == ["before", "hold-started", "hold-started", "after"]


def test_resume_is_refused_with_a_clear_line_where_it_cannot_apply(tmp_path: Path) -> None:
    env = _env(tmp_path)
    cases = [
        (_cli("lr_resume_sleeper", "--resume", "run-0000"), env, "no local run run-0000 is saved"),
        ([PYWORKFLOW, "-m", MODULE, "workflows", "run", "lr_resume_sleeper", "--resume", "r"],
         env, "--resume continues a run of the local runtime"),
        (_cli("lr_resume_sleeper", "--resume", "r"),
         {**env, "PYWORKFLOW_REDIS_URL": "redis://127.0.0.1:9/0"},
         "--resume needs the Redis the run was saved in"),
    ]
    for args, case_env, expected in cases:
        proc = subprocess.run(args, cwd=REPO, env=case_env, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode != 0 and expected in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


def _journal() -> LocalJournal:
    url = os.environ["PYWORKFLOW_REDIS_URL"]
    return LocalJournal(redis_client(url), os.environ["PYWORKFLOW_KEY_PREFIX"], 3600, url)


def test_one_process_runs_a_local_run_at_a_time_and_a_saved_run_resumes_in_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LR_MARKS", str(tmp_path / "marks"))
    first = LocalRuntime(journal=_journal())
    handle = first.start(sleeper, "c")  # runs up to the sleep, saved
    with pytest.raises(LocalRunError, match="being run by another process"):
        LocalRuntime(journal=_journal()).resume(handle.run_id)
    with pytest.raises(LocalRunError, match="is a run of 'lr_resume_sleeper'"):
        first.close()
        LocalRuntime(journal=_journal()).resume(handle.run_id, workflow="other")
    with LocalRuntime(journal=_journal()) as second:
        assert second.resume(handle.run_id).result() == ["c-one", "c-two"]
    assert _marks(tmp_path) == ["c-one", "c-two"]


# -- a stalled process behind a take-over (issue 24) -----------------------------------------------


def _client() -> redis.Redis:
    return redis_client(os.environ["PYWORKFLOW_REDIS_URL"])


def _bytes(value: Any) -> bytes:
    assert isinstance(value, bytes), value
    return value


def _owner(run_id: str) -> str:
    return keys.local_run_owner(os.environ["PYWORKFLOW_KEY_PREFIX"], run_id)


def _lapse(run_id: str) -> None:
    """What a process stalled past ``OWNER_TTL_S`` (a step holding the GIL starves its
    heartbeat) comes back to: its owner mark has expired."""
    assert _client().delete(_owner(run_id)) == 1


def test_a_stalled_process_whose_run_was_taken_over_and_completed_stops_without_saving(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LR_MARKS", str(tmp_path / "marks"))
    stalled = LocalRuntime(journal=_journal())
    run_id = stalled.start(sleeper, "s").run_id  # saved, waiting on its 1.5 s sleep
    _lapse(run_id)
    with LocalRuntime(journal=_journal()) as other:  # --resume in another process
        assert other.resume(run_id).result() == ["s-one", "s-two"]
    completed = _saved_event_types(run_id)
    assert completed[-1] == "workflow_completed"

    with pytest.raises(RunTakenOver, match=f"local run {run_id} was taken over by another "
                                           "process while this one was stalled"):
        stalled.wait(run_id)  # its sleep fires; the turn's save is refused
    stalled.close()
    assert _saved_event_types(run_id) == completed  # nothing appended over the other's end
    assert _client().get(_owner(run_id)) is None

    done = subprocess.run(_cli("lr_resume_sleeper", "--resume", run_id), cwd=REPO,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert 'Result: ["s-one", "s-two"]' in done.stdout
    assert _marks(tmp_path) == ["s-one", "s-two"]  # the stalled process ran no step


def test_a_stalled_process_is_refused_while_the_other_holds_the_run_and_names_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LR_MARKS", str(tmp_path / "marks"))
    stalled = LocalRuntime(journal=_journal())
    run_id = stalled.start(sleeper, "h").run_id
    _lapse(run_id)
    other = LocalRuntime(journal=_journal())
    handle = other.resume(run_id)
    holder = _bytes(_client().get(_owner(run_id)))
    with pytest.raises(RunTakenOver, match=re.escape(f"by another process ({holder.decode()})")):
        stalled.wait(run_id)
    stalled.close()  # gives up nothing: the mark is the other's
    assert _client().get(_owner(run_id)) == holder
    assert handle.result() == ["h-one", "h-two"]
    other.close()
    assert _marks(tmp_path) == ["h-one", "h-two"]


def test_a_stalled_process_whose_mark_lapsed_with_nobody_taking_it_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LR_MARKS", str(tmp_path / "marks"))
    with LocalRuntime(journal=_journal()) as runtime:
        handle = runtime.start(sleeper, "n")
        _lapse(handle.run_id)
        assert handle.result() == ["n-one", "n-two"]  # Redis holds what it last saved
        assert _client().get(_owner(handle.run_id)) is not None  # taken back by the save
    assert _client().get(_owner(handle.run_id)) is None
    assert _saved_event_types(handle.run_id)[-1] == "workflow_completed"


def test_an_idempotency_key_is_saved_with_the_run_and_kept_on_resume(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LR_MARKS", str(tmp_path / "marks"))
    first = LocalRuntime(journal=_journal())
    run_id = first.start(sleeper, "k", idempotency_key="order-7").run_id
    first.close()
    with LocalRuntime(journal=_journal()) as again:
        again.resume(run_id)
        assert again.start(sleeper, "k", idempotency_key="order-7").run_id == run_id
        assert again.wait(run_id).status == "completed"
    assert _marks(tmp_path) == ["k-one", "k-two"]


# -- a malformed saved run is refused, naming the run and what is wrong (issue 24) -----------


def _corruptions(run_id: str) -> list[tuple[str, Callable[[redis.Redis, str, str], Any], str]]:
    """(what, how to corrupt (client, state key, events key), what the error says)."""

    def state_with(**changes: Any) -> Callable[[redis.Redis, str, str], Any]:
        def corrupt(client: redis.Redis, state_key: str, events_key: str) -> None:
            state = json.loads(_bytes(client.get(state_key)))
            for name, value in changes.items():
                if value is _DROP:
                    del state[name]
                else:
                    state[name] = value
            client.set(state_key, json.dumps(state))
        return corrupt

    def first_event_without(field: str) -> Callable[[redis.Redis, str, str], Any]:
        def corrupt(client: redis.Redis, state_key: str, events_key: str) -> None:
            owner, event = json.loads(_bytes(client.lindex(events_key, 0)))
            del event[field]
            client.lset(events_key, 0, json.dumps([owner, event]))
        return corrupt

    hook = {"run_id": run_id, "call_id": 1, "name": "h", "expires_at_ms": None,
            "shielded": False, "colour": "blue"}
    return [
        ("state not JSON", lambda c, s, e: c.set(s, b"{not json"), "its state is not JSON"),
        ("state a list", lambda c, s, e: c.set(s, b"[]"),
         "its state is a JSON list, not an object"),
        ("no records", state_with(records=_DROP), "its state has no 'records'"),
        ("other version", state_with(version=99), "its state has version 99"),
        ("timers a string", state_with(timers="soon"), "its state's 'timers' is a str, not a list"),
        ("bad mailbox", state_with(mailbox=["garbage"]), "message 1 of its mailbox is malformed"),
        ("bad step", state_with(steps=[{"run_id": run_id}]),
         "pending step attempt 1 is malformed"),
        ("odd hook", state_with(hooks={"tok": hook}), "a hook in its state does not fit"),
        ("event without type", first_event_without("type"),
         f"event 1 of its journal (run {run_id}) has no 'type'"),
        ("event not JSON", lambda c, s, e: c.rpush(e, b"{oops"), "is not JSON"),
        ("event twice", lambda c, s, e: c.rpush(e, c.lindex(e, 0)),
         f"the journal of run {run_id} has event seq 1 where"),
        ("stranger's events", lambda c, s, e: c.rpush(e, json.dumps(
            ["run-elsewhere", json.loads(c.lindex(e, 0))[1]])),
         "events of run run-elsewhere, which its state has no record of"),
    ]


_DROP = object()


def test_a_malformed_saved_run_is_refused_with_what_is_wrong(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LR_MARKS", str(tmp_path / "marks"))
    runtime = LocalRuntime(journal=_journal())
    run_id = runtime.start(sleeper, "m").run_id
    runtime.close()
    client = _client()
    prefix = os.environ["PYWORKFLOW_KEY_PREFIX"]
    state_key = keys.local_run_state(prefix, run_id)
    events_key = keys.local_run_events(prefix, run_id)
    good_state, good_events = client.get(state_key), client.lrange(events_key, 0, -1)
    assert good_state is not None and good_events

    for what, corrupt, says in _corruptions(run_id):
        client.set(state_key, good_state)
        client.delete(events_key)
        client.rpush(events_key, *good_events)
        corrupt(client, state_key, events_key)
        with pytest.raises(LocalRunError) as refused:
            LocalRuntime(journal=_journal()).resume(run_id)
        message = str(refused.value)
        assert f"local run {run_id} saved in" in message and "cannot be resumed" in message, what
        assert says in message, (what, message)
        assert client.get(_owner(run_id)) is None, what  # the claim was given back

    # the CLI says it in one line (the corruption issue 24 reported: KeyError: 'type')
    client.set(state_key, good_state)
    owner, event = json.loads(good_events[0])
    del event["type"]
    client.lset(events_key, 0, json.dumps([owner, event]))
    proc = subprocess.run(_cli("lr_resume_sleeper", "--resume", run_id), cwd=REPO,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert f"local run {run_id} saved in" in proc.stderr and "has no 'type'" in proc.stderr
    assert "Traceback" not in proc.stderr and "KeyError" not in proc.stderr
