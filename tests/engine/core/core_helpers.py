"""Small helpers for the engine core tests: BPMN documents from a process body, a driven engine."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from procgov_engine.api import ActivatedJob, Resource
from procgov_engine.core import Engine

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs" targetNamespace="http://procgov.test">\n'
)


def bpmn(body: str, process_id: str = "p", *, extra: str = "") -> bytes:
    """A BPMN document with one executable process ``process_id`` holding ``body``."""
    return (
        _HEAD + extra + f'<bpmn:process id="{process_id}" isExecutable="true">\n{body}\n</bpmn:process>\n'
        "</bpmn:definitions>\n"
    ).encode()


def service(task_id: str, job_type: str, *, extra: str = "", inner: str = "") -> str:
    return (
        f'<bpmn:serviceTask id="{task_id}" {extra}><bpmn:extensionElements>'
        f'<zeebe:taskDefinition type="{job_type}" />{inner}</bpmn:extensionElements></bpmn:serviceTask>'
    )


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}" />'
    return (
        f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def chain(*ids: str) -> str:
    """Sequence flows ``a→b→c`` named ``f_a_b`` …"""
    return "\n".join(flow(f"f_{a}_{b}", a, b) for a, b in itertools.pairwise(ids))


async def deploy(engine: Engine, *documents: bytes, names: Sequence[str] = ()) -> Any:
    resources = [Resource(names[i] if i < len(names) else f"r{i}.bpmn", doc) for i, doc in enumerate(documents)]
    return await engine.deploy(resources)


async def activate(
    engine: Engine, job_type: str, *, max_jobs: int = 10, fetch: Sequence[str] = (), timeout_ms: int = 60_000
) -> list[ActivatedJob]:
    return await engine.activate_jobs(
        job_type=job_type, worker="test", timeout_ms=timeout_ms, max_jobs=max_jobs, fetch_variables=fetch
    )


async def complete_one(engine: Engine, job_type: str, variables: dict[str, Any] | None = None) -> ActivatedJob:
    jobs = await activate(engine, job_type, max_jobs=1)
    assert len(jobs) == 1, f"expected one activatable '{job_type}' job, got {len(jobs)}"
    await engine.complete_job(jobs[0].key, variables or {})
    return jobs[0]


def state(engine: Engine, pik: int) -> str:
    view = engine.query.process_instance(pik)
    assert view is not None
    return view.state


def passed(engine: Engine, pik: int) -> list[str]:
    """Element ids completed in the instance, in completion order."""
    return [
        r["value"]["elementId"]
        for r in engine.query.records(
            value_type="PROCESS_INSTANCE", intent="ELEMENT_COMPLETED", process_instance_key=pik
        )
        if r["value"]["bpmnElementType"] != "PROCESS"
    ]


def active(engine: Engine, pik: int) -> list[str]:
    return sorted(e.element_id for e in engine.query.element_instances(pik) if e.state == "ELEMENT_ACTIVATED")
