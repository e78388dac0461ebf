"""Cross-check the decision log against the engine's records of the same instance.

The hash chain proves the log was not edited after the fact; it cannot prove the log says what the
process actually received. The engine's JOB records can: a decision task's job completes with exactly
the recorded outputs (the runtime completes it with them). So, per instance:

* a decision record whose job the instance's records do not show is suspect (wrong instance key?);
* a decision job that completed with other variables than the record's outputs is a finding;
* a completed job at an element where decisions are recorded, without a record, means a record is
  missing (deleted together with its chain successors and the head, which the chain alone can miss);
* a record's inputs must be what the decision's input model makes of the variables the engine gave the
  job (its scope's variables just before the activation record), and its ``recorded_at`` (the engine's
  clock, see workers.runtime.router) must fall between the job's first activation and its completion:
  a forged input or a backdated record shows even when the chain was re-hashed to match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from workers.audit.history import InstanceHistory, JobHistory
from workers.audit.replay import DecisionVerdict, Registry, ReplayReport, diff_outputs

#: Slack for ``recorded_at`` against the job's times (ms rounding of deadlines, clock reads).
TIME_SLACK_MS = 2_000


@dataclass(frozen=True)
class CrossCheckFinding:
    job_key: int
    element_id: str
    detail: str

    def __str__(self) -> str:
        return f"job {self.job_key} at {self.element_id}: {self.detail}"


def _epoch_ms(text: str) -> int | None:
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _check_inputs(history: InstanceHistory, job: JobHistory, verdict: DecisionVerdict,
                  registry: Registry) -> list[CrossCheckFinding]:
    decision = registry.get(verdict.decision)
    if decision is None or not job.activations or job.activations[-1].position < 0:
        return []
    seen = history.variables_seen(job.element_instance_key, job.activations[-1].position)
    fields = decision.input_model.model_fields
    names = {f.alias or name for name, f in fields.items()} | set(fields)
    given = {k: v for k, v in seen.items() if k in names}
    try:
        derived: Any = decision.input_model.model_validate(given).model_dump(mode="json", by_alias=True)
    except ValidationError as error:
        return [CrossCheckFinding(job.key, job.element_id,
                                  f"the variables the engine gave the job do not validate as the decision's "
                                  f"input ({error.error_count()} error(s)), yet a decision was recorded")]
    differences = diff_outputs(verdict.inputs, derived)
    if not differences:
        return []
    shown = "; ".join(str(d).replace("replayed", "the engine gave the job") for d in differences[:5])
    return [CrossCheckFinding(job.key, job.element_id,
                              f"recorded inputs are not the variables the engine gave the job: {shown}")]


def _check_time(job: JobHistory, verdict: DecisionVerdict) -> list[CrossCheckFinding]:
    recorded = _epoch_ms(verdict.recorded_at)
    first = job.activations[0].at if job.activations else job.created_at
    last = job.ended_at
    if recorded is None:
        return [CrossCheckFinding(job.key, job.element_id, f"recorded_at {verdict.recorded_at!r} is not a time")]
    if recorded < first - TIME_SLACK_MS or (last is not None and recorded > last + TIME_SLACK_MS):
        window = f"{_iso(first)} .. {_iso(last) if last is not None else 'still open'}"
        return [CrossCheckFinding(job.key, job.element_id,
                                  f"recorded_at {verdict.recorded_at} lies outside the job's life on the engine's "
                                  f"clock ({window}): the record was backdated or moved")]
    return []


def _iso(ms: int) -> str:
    from datetime import UTC

    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cross_check(history: InstanceHistory, report: ReplayReport,
                registry: Mapping[str, Any] | None = None) -> list[CrossCheckFinding]:
    """Findings of one instance. With ``registry`` (the decisions by name) each record's inputs and
    ``recorded_at`` are also held against the job the engine activated (``procgov audit replay``)."""
    findings: list[CrossCheckFinding] = []
    jobs = {job.key: job for job in history.jobs}
    recorded = {v.job_key: v for v in report.verdicts if v.process_instance_key == history.process_instance_key}
    for job_key, verdict in recorded.items():
        job = jobs.get(job_key)
        if job is None:
            findings.append(CrossCheckFinding(job_key, verdict.element_id,
                                              "has a decision record but no job in the instance's records"))
        elif job.outcome == "COMPLETED":
            if registry is not None:
                findings += _check_time(job, verdict)
                findings += _check_inputs(history, job, verdict, registry)
            differences = diff_outputs(verdict.outputs, job.variables if job.variables is not None else {})
            if differences:
                shown = "; ".join(str(d).replace("replayed", "job completed with") for d in differences)
                findings.append(CrossCheckFinding(job_key, job.element_id,
                                                  f"completed with other variables than recorded: {shown}"))
    for job in history.jobs:
        at_decision = (history.bpmn_process_id, job.element_id) in report.decision_elements
        if at_decision and job.outcome == "COMPLETED" and job.key not in recorded:
            findings.append(CrossCheckFinding(job.key, job.element_id,
                                              "completed at a decision task without a decision record"))
    return findings
