"""A typed hook's payload, without Redis: checked at the door against the schema stored
with the hook, and again by the engine with the model when the message is handled.

The workflows here wait on ``TypedHook``s that are *not* registered with
``define_hook`` (except where a test says so), so a delivery in this process checks
only what the hook's record holds: the door of a process that cannot import the
app's code. "The code changed since" is a record whose schema is looser than the
model the run waits with.
"""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from pydantic import BaseModel, Field

from pyworkflow import HookExpiredError, workflow
from pyworkflow import events as ev
from pyworkflow.client.hooks import checked_payload, delivery_message_id
from pyworkflow.engine.ports import MemoryHookStore
from pyworkflow.errors import HookPayloadError, PyWorkflowError, error_from_record
from pyworkflow.hook_info import (
    MAX_SCHEMA_BYTES,
    example_payload,
    schema_of,
    schema_problems,
)
from pyworkflow.registry import hook_models
from pyworkflow.testing import WorkflowEnvironment
from pyworkflow.workflow_api.hooks import TypedHook
from tests.engine.harness import Harness


class Address(BaseModel):
    street: str
    zip_code: int = Field(ge=1)


class Shipment(BaseModel):
    address: Address
    express: bool = False
    note: str | None = None


shipment = TypedHook("payloads_shipment", Shipment)


@workflow(name="payloads_ship")
async def ship() -> dict[str, Any]:
    got = await shipment()
    return got.model_dump()


@workflow(name="payloads_ship_by")
async def ship_by() -> Any:
    try:
        return (await shipment(timeout="1h")).model_dump()
    except HookExpiredError:
        return "expired"


GOOD = {"address": {"street": "1 Main St", "zip_code": 10}}
BAD = {"address": {"zip_code": 0}, "express": "maybe"}


def only_hook(env: WorkflowEnvironment, run_id: str) -> str:
    (pending,) = env.hooks(run_id)
    return pending.token


def types(env: WorkflowEnvironment, run_id: str) -> list[str]:
    return [e["type"] for e in env.events(run_id)]


# -- the record ------------------------------------------------------------------------------

def test_a_typed_hook_is_recorded_with_its_models_schema() -> None:
    env = WorkflowEnvironment()
    run = env.start(ship)
    record = env.hook_store.hooks[only_hook(env, run.run_id)]
    assert record.typed and record.schema is not None
    assert json.loads(record.schema) == Shipment.model_json_schema()


def test_a_schema_over_the_limit_is_not_stored() -> None:
    class Huge(BaseModel):
        model_config = {"json_schema_extra": {"description": "x" * MAX_SCHEMA_BYTES}}
        a: int

    assert schema_of(Huge) is None
    assert schema_of(Shipment) is not None
    assert schema_of(int) is None  # not a model: nothing to store


# -- the door --------------------------------------------------------------------------------

def test_the_door_refuses_a_bad_payload_by_the_stored_schema_and_the_hook_stays_pending(
        ) -> None:
    env = WorkflowEnvironment()
    run = env.start(ship)
    token = only_hook(env, run.run_id)
    with pytest.raises(HookPayloadError) as refused:
        env.resume_hook(token, BAD)
    assert refused.value.name == "payloads_shipment"
    assert {tuple(e["loc"]) for e in refused.value.errors} == {
        ("address", "street"), ("address", "zip_code"), ("express",)}
    assert "maybe" not in json.dumps(refused.value.errors)
    assert env.hook_store.hooks[token].status == "pending"
    assert types(env, run.run_id) == [ev.WORKFLOW_STARTED, ev.HOOK_CREATED]
    env.resume_hook(token, GOOD)
    assert run.result() == {"address": GOOD["address"], "express": False, "note": None}


def test_the_door_with_the_model_registered_checks_with_the_model(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(hook_models, "payloads_shipment", Shipment)
    with pytest.raises(HookPayloadError) as refused:
        checked_payload("payloads_shipment", {"address": {"street": "x", "zip_code": 0}})
    assert [e["loc"] for e in refused.value.errors] == [["address", "zip_code"]]
    # What travels is the model's JSON form (defaults filled in), which the schema takes.
    assert checked_payload("payloads_shipment", GOOD, Shipment.model_json_schema()) == {
        **GOOD, "express": False, "note": None}


def test_an_untyped_hook_takes_any_json() -> None:
    assert checked_payload("payloads_untyped", {"anything": [1, "two"]}) == {
        "anything": [1, "two"]}


# -- the engine: a payload that passed the door and that the model refuses -------------------

def test_a_payload_the_model_refuses_is_rejected_and_the_hook_waits_on() -> None:
    env = WorkflowEnvironment()
    run = env.start(ship)
    token = only_hook(env, run.run_id)
    env.hook_store.hooks[token].schema = "{}"  # the door's schema is older and looser
    info = env.resume_hook(token, BAD)  # passes the door...
    assert info.status == "pending"  # ...and the run gave the hook back
    rejected = [e for e in env.events(run.run_id) if e["type"] == ev.HOOK_PAYLOAD_REJECTED]
    (event,) = rejected
    assert event["data"]["call_id"] == 1 and event["data"]["name"] == "payloads_shipment"
    assert {tuple(e["loc"]) for e in event["data"]["errors"]} == {
        ("address", "street"), ("address", "zip_code"), ("express",)}
    assert ev.HOOK_RECEIVED not in types(env, run.run_id)
    assert run.info().status == "suspended"
    record = env.hook_store.hooks[token]
    assert (record.status, record.payload, record.rejected) == ("pending", None, 1)
    # The next delivery is a new round: its message is not taken for the refused one's.
    env.resume_hook(token, BAD)
    assert record.rejected == 2 and run.info().status == "suspended"
    env.resume_hook(token, GOOD)
    assert run.result()["address"] == GOOD["address"]
    assert types(env, run.run_id)[2:] == [ev.HOOK_PAYLOAD_REJECTED, ev.HOOK_PAYLOAD_REJECTED,
                                          ev.HOOK_RECEIVED, ev.WORKFLOW_COMPLETED]
    assert record.status == "received"


def test_a_rejection_survives_replay_and_the_next_round_is_taken() -> None:
    h = Harness("run-payloads")
    created = [e for e in h.send("start", workflow="payloads_ship", args=[], kwargs={}).events
               if e.type == ev.HOOK_CREATED]
    token = created[0].data["token"]
    store = h.ports.hooks
    assert isinstance(store, MemoryHookStore)
    assert store.claim(token, json.dumps(BAD)).moved
    h.send("hook-received", token=token, call_id=1, payload=BAD)
    assert h.types()[-1] == ev.HOOK_PAYLOAD_REJECTED
    assert store.hooks[token].status == "pending"
    # A worker without the run in its cache replays the journal, then takes the next round.
    other = h.rebuilt()
    assert other.state.divergence is None
    move = store.claim(token, json.dumps(GOOD))
    assert move.moved and move.rejected == 1
    other.send("hook-received", token=token, call_id=1, payload=GOOD)
    assert other.types()[-2:] == [ev.HOOK_RECEIVED, ev.WORKFLOW_COMPLETED]
    assert other.journal[-1].data["result"]["address"] == GOOD["address"]


def test_a_refusal_handled_again_never_gives_back_a_later_claim() -> None:
    """A turn that rejected a payload and did not commit runs again: by then the hook was
    given back and claimed by the next delivery, which must keep its claim."""
    store = MemoryHookStore()
    store.record("tok", "run-x", 1, "h", None, False, schema=None, typed=True)
    assert store.claim("tok", '"first"').moved
    assert store.reopen("tok", 0) is True
    assert store.claim("tok", '"second"').moved
    assert store.reopen("tok", 0) is False  # the first round's refusal, handled again
    assert (store.hooks["tok"].status, store.hooks["tok"].payload) == ("received", '"second"')
    assert delivery_message_id("tok", 0) == "hook:tok"
    assert delivery_message_id("tok", 1) == "hook:tok:1"


def test_a_claimed_payload_the_model_refuses_at_the_timeout_lets_the_hook_expire() -> None:
    env = WorkflowEnvironment()
    run = env.start(ship_by)
    token = only_hook(env, run.run_id)
    assert env.hook_store.claim(token, json.dumps(BAD)).moved  # its message never came
    assert run.result() == "expired"
    assert types(env, run.run_id)[2:4] == [ev.HOOK_PAYLOAD_REJECTED, ev.HOOK_EXPIRED]
    assert env.hook_store.hooks[token].status == "expired"


def test_a_claimed_payload_that_fits_is_recorded_at_the_timeout() -> None:
    env = WorkflowEnvironment()
    run = env.start(ship_by)
    token = only_hook(env, run.run_id)
    assert env.hook_store.claim(token, json.dumps(GOOD)).moved
    assert run.result()["address"] == GOOD["address"]


# -- the schema's words ------------------------------------------------------------------------

def test_schema_problems_name_fields_in_words_from_the_schema_only() -> None:
    schema = Shipment.model_json_schema()
    secret = "hunter2-secret"
    problems = schema_problems(schema, {"address": {"street": 5, "zip_code": secret},
                                        "note": 7})
    assert [(p["loc"], p["msg"]) for p in problems] == [
        (["address", "street"], "Input should be a valid string"),
        (["address", "zip_code"], "Input should be a valid integer"),
        (["note"], "Input should be a valid string or null"),
    ]
    assert secret not in json.dumps(problems)
    assert schema_problems(schema, GOOD) == []
    assert schema_problems(schema, [1])[0]["msg"] == "Input should be a valid object"
    assert schema_problems({"type": "object", "$ref": "#/$defs/nowhere"}, {}) == []


def test_example_payload_has_every_required_field() -> None:
    example = example_payload(Shipment.model_json_schema())
    assert example == {"address": {"street": "<street>", "zip_code": 1}}
    assert schema_problems(Shipment.model_json_schema(), example) == []


def test_hook_payload_error_is_one_of_ours() -> None:
    exc = HookPayloadError("h", [{"loc": ["a"], "msg": "Field required", "type": "missing"}])
    assert isinstance(exc, PyWorkflowError) and isinstance(exc, ValueError)
    assert str(exc) == "payload refused by hook 'h': a: Field required"
    copy = pickle.loads(pickle.dumps(exc))
    assert copy.errors == exc.errors and copy.name == "h"
    assert type(error_from_record("HookPayloadError", str(exc))) is HookPayloadError
