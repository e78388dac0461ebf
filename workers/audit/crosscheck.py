"""Cross-check the decision log against the engine's records of the same instance.

The hash chain proves the log was not edited after the fact; it cannot prove the log says what the
process actually received. The engine's JOB records can: a decision task's job completes with exactly
the recorded outputs (the runtime completes it with them). So, per instance:

* a decision record whose job the instance's records do not show is suspect (wrong instance key?);
* a decision job that completed with other variables than the record's outputs is a finding;
* a completed job at an element where decisions are recorded, without a record, means a record is
  missing (deleted together with its chain successors and the head, which the chain alone can miss).
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.audit.history import InstanceHistory
from workers.audit.replay import ReplayReport, diff_outputs


@dataclass(frozen=True)
class CrossCheckFinding:
    job_key: int
    element_id: str
    detail: str

    def __str__(self) -> str:
        return f"job {self.job_key} at {self.element_id}: {self.detail}"


def cross_check(history: InstanceHistory, report: ReplayReport) -> list[CrossCheckFinding]:
    findings: list[CrossCheckFinding] = []
    jobs = {job.key: job for job in history.jobs}
    recorded = {v.job_key: v for v in report.verdicts if v.process_instance_key == history.process_instance_key}
    for job_key, verdict in recorded.items():
        job = jobs.get(job_key)
        if job is None:
            findings.append(CrossCheckFinding(job_key, verdict.element_id,
                                              "has a decision record but no job in the instance's records"))
        elif job.outcome == "COMPLETED":
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
