"""The OpenAPI document and what is generated from it: docs/api.md is what the generator
prints (so it cannot go stale), every route's models have a schema, and the event union takes
what each producer publishes."""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from pydantic import ValidationError

from trainer_runtime.api.schema import openapi
from trainer_runtime.api.schema.base import dump, parse
from trainer_runtime.api.schema.events import EVENT_TYPES, Event, JobStateEvent
from trainer_runtime.api.schema.jobs import STATE_LABELS, JobRecord, JobView
from trainer_runtime.jobs.state import JobAction, JobState

ROOT = Path(__file__).resolve().parents[2]


def test_docs_api_md_is_what_the_generator_prints():
    out = io.StringIO()
    with redirect_stdout(out):
        openapi.main(["--markdown"])
    committed = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == out.getvalue(), (
        "docs/api.md is stale: run python -m trainer_runtime.api.schema.openapi --markdown > docs/api.md"
    )


def test_the_document_names_every_model_it_refers_to():
    doc = openapi.document()
    text = json.dumps(doc)
    names = set(doc["components"]["schemas"])
    referred = set(re.findall(r"#/components/schemas/([\w-]+)", text))
    assert referred <= names, referred - names
    job = doc["components"]["schemas"]["JobView"]
    assert {"is_terminal", "allowed_actions", "device_label"} <= set(job["required"])
    assert doc["paths"]["/v1/jobs"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JobList"
    }


def test_actions_and_labels_come_from_the_state_machine():
    assert JobState.RUNNING.allowed_actions() == (JobAction.PAUSE, JobAction.CANCEL)
    assert JobState.PAUSED.allowed_actions() == (JobAction.RESUME, JobAction.CANCEL)
    for state in JobState:
        assert STATE_LABELS[state] == state.label and state.label[0].isupper()
        actions = state.allowed_actions()
        assert (JobAction.RESTART in actions) == state.is_terminal() == (JobAction.DELETE in actions)
        assert (JobAction.CANCEL in actions) == state.can_go_to(JobState.CANCELLED)


def _record(state: str = "RUNNING") -> dict:
    return {
        "id": "j1", "name": "tiny", "experiment": "default", "state": state, "attempt": 1, "priority": 0,
        "reason": None, "devices": ["cpu:0"], "spec": {"name": "tiny"},
        "created_at": "2026-12-02T03:00:00.123456Z", "queued_at": None, "started_at": None,
        "finished_at": None, "pid": 42, "step": 3, "total_steps": 10, "resume_from": None,
        "pending_action": None, "mlflow_run_id": None, "mlflow_done": False, "mlflow_error": None,
        "health": None,
    }  # fmt: skip


def test_computed_fields_are_sent_and_recomputed_on_parse():
    rec = parse(JobRecord, {**_record("FAILED"), "is_terminal": False, "allowed_actions": ["pause"]})
    assert rec.is_terminal and rec.allowed_actions == [JobAction.RESTART, JobAction.DELETE]
    assert rec.state == "FAILED" and rec.state is JobState.FAILED
    again = parse(JobRecord, rec.model_dump(mode="json"))
    assert again == rec


def test_every_producer_event_fits_the_union():
    """One event per type as its producer builds it (supervisor, datasets API, server)."""
    bus = {"seq": 1, "time": 1.5}
    events = [
        {"type": "hello", "version": "0.1.0", "api": "v1"},
        {"type": "heartbeat"},
        {"type": "lagged"},
        {**bus, "type": "job_state", "job_id": "j1", "job": _record()},
        {**bus, "type": "job_deleted", "job_id": "j1"},
        {**bus, "type": "metrics", "job_id": "j1", "attempt": 1,
         "points": [{"key": "loss", "step": 1, "value": 2.5, "time": 1.0}]},
        {**bus, "type": "progress", "job_id": "j1", "step": 3, "total": 10},
        {**bus, "type": "log", "job_id": "j1", "attempt": 1, "text": "step 3\n"},
        {**bus, "type": "job_health", "job_id": "j1",
         "health": {"status": "stopped", "since": 1.0, "message": "the worker is stopped (SIGSTOP)"}},
        {**bus, "type": "dataset_changed", "name": "corpus"},
        {**bus, "type": "dataset_import", "import": {
            "id": "t1", "name": "corpus", "source": "/data/corpus", "state": "running", "phase": "hashing",
            "done": 3, "total": 10, "error": None, "version": None, "started": 1.0, "finished": None}},
    ]  # fmt: skip
    seen = {parse(Event, e).type for e in events}
    assert seen == set(EVENT_TYPES)
    task = parse(Event, events[-1])
    assert task.import_.state == "running" and json.loads(dump(Event, task))["import"]["id"] == "t1"
    with pytest.raises(ValidationError):  # the task is an ImportTaskView
        parse(Event, {**events[-1], "import": {**events[-1]["import"], "state": "sleeping"}})
    state = parse(Event, events[3])
    assert isinstance(state, JobStateEvent) and state.job.allowed_actions == [
        JobAction.PAUSE,
        JobAction.CANCEL,
    ]
    assert parse(Event, json.loads(dump(Event, state))) == state
    with pytest.raises(ValidationError):
        parse(Event, {**bus, "type": "job_state", "job_id": "j1", "job": {**_record(), "surprise": 1}})
    with pytest.raises(ValidationError):
        parse(Event, {**bus, "type": "no_such_event"})


def test_a_job_view_needs_its_spec_and_metrics():
    with pytest.raises(ValidationError) as err:
        parse(JobView, _record())
    assert {"metrics", "progress", "device_info"} <= {e["loc"][0] for e in err.value.errors()}


def test_query_models_become_the_routes_parameters():
    doc = openapi.document()
    params = {p["name"]: p for p in doc["paths"]["/v1/jobs/{id}/metrics"]["get"]["parameters"]}
    assert set(params) == {"id", "key", "attempt", "after_id", "limit"}
    assert params["id"]["in"] == "path" and params["id"]["required"] and params["key"]["in"] == "query"
