"""Stored case states outlive engine upgrades: a state saved by this code must load with the next.

`fixtures/serializer/state_hq1.json` was saved by `runtime.dump` against `stored_state.bpmn` (a user task
done, a parallel split waiting in a plain task and in a called process under a boundary timer). If a
SpiffWorkflow upgrade or a change to our converter stops reading it, this fails in CI before any stored
case is touched; the fix is a migration of stored states plus a new fixture, never editing this one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState

from workflows.engine import clock, runtime
from workflows.engine.specs import parse_sources
from workflows.errors import ProcessError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "serializer"


@pytest.fixture(scope="module")
def bundle():  # noqa: ANN201
    sources = {"stored_state.bpmn": (FIXTURES / "stored_state.bpmn").read_text(encoding="utf-8")}
    return parse_sources(sources, top="fixture_top")


def test_a_state_saved_by_format_hq1_still_loads_and_runs_to_the_end(bundle):
    state = (FIXTURES / "state_hq1.json").read_text(encoding="utf-8")
    assert json.loads(state)["serializer_version"] == runtime.SERIALIZER_VERSION
    with clock.frozen_at(datetime(2030, 6, 1, tzinfo=UTC)):
        workflow = runtime.load(state, bundle)
        ready = {r.meta.bpmn_id: r for r in runtime.ready_user_tasks(workflow, bundle)}
        assert sorted(ready) == ["left", "right"]
        assert ready["right"].due_at == datetime(2031, 12, 31, 15, 59, 59, tzinfo=UTC)
        assert workflow.data.get("amount") is None and workflow.get_tasks()[0].data["case_id"] == 1
        runtime.complete(workflow, ready["left"].uuid, {})
        runtime.complete(workflow, ready["right"].uuid, {})
        assert workflow.completed
        ends = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
                if t.task_spec.bpmn_id in ("end_big", "end_small")]
        assert ends == ["end_big"]  # the gateway still reads the data completed before the save


def test_a_state_in_another_format_is_refused_not_misread(bundle):
    state = json.loads((FIXTURES / "state_hq1.json").read_text(encoding="utf-8"))
    state["serializer_version"] = "spiff-9.9/hq-1"
    with pytest.raises(ProcessError, match="存储格式"):
        runtime.load(json.dumps(state), bundle)
    with pytest.raises(ProcessError, match="损坏"):
        runtime.load(json.dumps({"serializer_version": runtime.SERIALIZER_VERSION}), bundle)
    with pytest.raises(ProcessError, match="损坏"):
        runtime.load("{not json", bundle)
