"""Recording what a person's task shows: the variables each user task sees, as the process tests read them.

The process tests (tests/rollout, tests/slm) find user tasks with a REST search and read their variables
(``POST /v2/user-tasks/{key}/variables/search``, what Tasklist prefills the form with; tests/user_tasks.py);
with ``PROCGOV_RECORD_USER_TASKS=DIR`` set, each task seen is appended to ``DIR/<elementId>.jsonl``.
``python -m tests.forms.record_variables`` runs those tests so and turns the recordings into the form
fixtures (tests/forms/fixtures/), the variables a real run gives each form.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ENV = "PROCGOV_RECORD_USER_TASKS"


def record_user_task(process_id: str, element_id: str, variables: dict[str, Any]) -> None:
    """Append one user task as seen to the recording directory (a no-op unless ENV is set)."""
    directory = os.environ.get(ENV)
    if not directory:
        return
    path = Path(directory) / f"{element_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps({"bpmnProcessId": process_id, "elementId": element_id, "variables": variables},
                             ensure_ascii=False, sort_keys=True) + "\n")
