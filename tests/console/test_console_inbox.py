"""The console's task inbox in headless Chromium against a real engine over the REST API: a Camunda user
task (``zeebe:userTask``) listed, assigned to me, its linked Camunda Form rendered by form-js with the
task's variables, filled in, refused while a required field is empty, submitted, and gone from the inbox.

Camunda docs, "Orchestration Cluster API" → "User task": "Search user tasks", "Assign user task"
(``allowOverride: false``), "Unassign user task", "Get user task form", "Search user task variables",
"Complete user task" (the variables become the task's completion variables).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import headless_chromium
from tests.console.conftest import create_instance, deploy

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with headless_chromium(1400, 1000) as driver:
        yield driver


def form_ready(driver: WebDriver) -> dict[str, Any]:
    result: dict[str, Any] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.procgovForm.ready.then(() => done({warnings: window.procgovForm.warnings}),"
        " (e) => done({error: String(e)}));")
    assert "error" not in result, result
    return result


def open_task_row(driver: WebDriver, url: str, instance_key: str, timeout_s: float = 20) -> Any:
    """The inbox row of the instance's task (the inbox is reloaded until the task shows)."""
    deadline = time.monotonic() + timeout_s
    while True:
        driver.get(url)
        rows = [r for r in driver.find_elements(By.CSS_SELECTOR, "#tasks tr.task")
                if instance_key in r.text]
        if rows or time.monotonic() > deadline:
            return rows[0] if rows else None
        time.sleep(0.3)


def test_claim_fill_and_complete_a_task_through_the_inbox(
    rest: httpx.Client, console_url: str, browser: WebDriver
) -> None:
    deploy(rest, "console-approval.bpmn", "console-approval.form")
    key = create_instance(rest, "console-approval", {"requestTitle": "Pilot in Hangzhou", "requester": "王芳"})

    row = open_task_row(browser, f"{console_url}/tasks?state=CREATED&assignee=unassigned&group=reviewers", key)
    assert row is not None, "the new task is not in the inbox's unassigned tasks"
    assert open_task_row(browser, f"{console_url}/tasks?group=approvers", key, timeout_s=0) is None
    row = open_task_row(browser, f"{console_url}/tasks?state=CREATED&assignee=unassigned&group=reviewers", key)
    assert "Approve the request" in row.text and "reviewers" in row.text
    row.find_element(By.LINK_TEXT, "Approve the request").click()

    # not mine yet: the form is shown read-only, with no way to complete it
    assert form_ready(browser)["warnings"] == []
    assert "Request Pilot in Hangzhou by 王芳" in browser.find_element(By.ID, "form").text
    assert not browser.find_elements(By.ID, "complete")
    browser.find_element(By.ID, "claim").click()
    WebDriverWait(browser, 20).until(expected_conditions.text_to_be_present_in_element((By.ID, "task-assignee"),
                                                                                       "alice"))
    task_key = browser.current_url.rstrip("/").rsplit("/", 1)[1]
    assert rest.get(f"/user-tasks/{task_key}").json()["assignee"] == "alice"

    # unassign and assign again: both round trips through the API
    browser.find_element(By.ID, "unclaim").click()
    WebDriverWait(browser, 20).until(expected_conditions.presence_of_element_located((By.ID, "claim")))
    assert rest.get(f"/user-tasks/{task_key}").json().get("assignee") in (None, "")
    browser.find_element(By.ID, "claim").click()
    WebDriverWait(browser, 20).until(expected_conditions.presence_of_element_located((By.ID, "complete")))
    form_ready(browser)

    # a required field left empty: form-js marks it, nothing is sent
    browser.find_element(By.ID, "complete").click()
    WebDriverWait(browser, 10).until(expected_conditions.visibility_of_element_located((By.ID, "message")))
    assert "Please correct the marked fields" in browser.find_element(By.ID, "message").text
    assert browser.find_elements(By.CSS_SELECTOR, "#form .fjs-form-field-error")  # form-js marks the field
    assert rest.get(f"/user-tasks/{task_key}").json()["state"] == "CREATED"

    comment = browser.find_element(By.CSS_SELECTOR, "#form input[type=text]")
    comment.send_keys("同意试点 Pilot approved", Keys.TAB)  # leaving the field clears its error: the form moves up
    WebDriverWait(browser, 10).until_not(lambda d: d.find_elements(By.CSS_SELECTOR, "#form .fjs-form-field-error"))
    approved = browser.find_element(By.CSS_SELECTOR, "#form input[type=checkbox]")
    approved.click()
    assert approved.is_selected()
    browser.find_element(By.ID, "complete").click()
    WebDriverWait(browser, 20).until(expected_conditions.url_contains("/tasks?done="))
    assert f"Task {task_key} completed" in browser.find_element(By.ID, "done").text
    assert not [r for r in browser.find_elements(By.CSS_SELECTOR, "#tasks tr.task") if key in r.text]

    task = rest.get(f"/user-tasks/{task_key}").json()
    assert task["state"] == "COMPLETED"
    deadline = time.monotonic() + 20
    while rest.get(f"/process-instances/{key}").json()["state"] != "COMPLETED":
        assert time.monotonic() < deadline, "the instance did not complete after its only task"
        time.sleep(0.2)
    variables = {v["name"]: v["value"] for v in rest.post("/variables/search", json={
        "filter": {"processInstanceKey": key}}).json()["items"]}
    assert variables["comment"] == '"同意试点 Pilot approved"'
    assert variables["approved"] == "true"
