"""The runtime's two stages (``pyworkflow.worker._runtime``): ``runtime()`` gives the
settings and the Redis client; the actor system and the Celery app, with everything
wired into them, come together on first use. Each probe is a fresh process, so what
it has loaded is what the stage loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

_PROBE = """
import json, sys
from pyworkflow.worker import _runtime
calls = []
_runtime.on_runtime(lambda rt: calls.append(("early", "celery" in sys.modules)))
rt = _runtime.runtime()
out = {"read_loads_celery": "celery" in sys.modules or "kombu" in sys.modules,
       "calls_before_use": list(calls)}
rt.{first}
out["calls_after_use"] = list(calls)
system, app = rt.system, rt.celery
out["one_wiring"] = system is rt.system and app is rt.celery
_runtime.on_runtime(lambda rt: calls.append(("late", True)))
out["calls"] = calls
out["tasks"] = sorted(t for t in app.tasks if not t.startswith("celery."))
out["run_behaviour"] = type(rt.system.behaviour_for("run-x")).__name__
out["schedule_behaviour"] = type(rt.system.behaviour_for("sched-x")).__name__
out["keys_agree"] = rt.actor_keys("run-x") == rt.system.actor_keys("run-x")
out["current_app"] = __import__("celery").current_app.main
print(json.dumps(out))
"""


def _probe(first: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _PROBE.replace("{first}", first)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_second_stage_wires_everything_once_whichever_part_is_asked_first(
        redis_env: dict[str, str]) -> None:
    for first in ("system", "celery"):
        out = _probe(first)
        assert out["read_loads_celery"] is False, first
        assert out["calls_before_use"] == [], first  # installers wait for the wiring
        assert out["calls_after_use"] == [["early", True]], first
        assert out["calls"] == [["early", True], ["late", True]], first
        assert out["one_wiring"] is True, first
        assert {"actors.turn", "pyworkflow.step"} <= set(out["tasks"]), first
        assert (out["run_behaviour"], out["schedule_behaviour"]) == \
            ("RunBehaviour", "ScheduleBehaviour"), first
        assert out["keys_agree"] is True, first
        assert out["current_app"] == "pyworkflow", first  # the app is Celery's current one
