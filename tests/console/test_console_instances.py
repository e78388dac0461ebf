"""The console's process instance pages in headless Chromium against a real engine over the REST API: the
diagram drawn with bpmn-js, the active element and the incident marked, the incident retried.

Camunda docs, "Orchestration Cluster API": "Search element instances", "Search incidents", "Update job"
(``changeset.retries``) and "Resolve incident": a job incident is resolved after its job has retries
again, or it is raised anew.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import headless_chromium
from tests.console.conftest import activate, create_instance, deploy

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with headless_chromium(1400, 1000) as driver:
        yield driver


def diagram(driver: WebDriver) -> dict[str, Any]:
    """What bpmn-js drew: the import warnings and which elements carry which marker."""
    result: dict[str, Any] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.procgovDiagram.ready.then(done, (e) => done({error: String(e)}));")
    assert "error" not in result, result
    return result


def wait_until(check: Any, what: str, timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_instance_with_an_incident_shows_it_on_the_diagram_and_retries_it(
    rest: httpx.Client, console_url: str, browser: WebDriver
) -> None:
    deploy(rest, "console-work.bpmn")
    key = create_instance(rest, "console-work", {"requestTitle": "新流程 New process"})
    job = activate(rest, "console-check", key)
    failed = rest.post(f"/jobs/{job['jobKey']}/failure", json={"retries": 0, "errorMessage": "directory down"})
    assert failed.status_code == 204, failed.text

    browser.get(f"{console_url}/instances?incidents=1")
    row = browser.find_element(By.CSS_SELECTOR, f"#instances tr.instance[data-key='{key}']")
    assert "事故 Incident" in row.text
    assert "in all" in browser.find_element(By.ID, "count").text
    row.find_element(By.TAG_NAME, "a").click()

    drawn = diagram(browser)
    assert drawn["warnings"] == []
    assert drawn["markers"]["pg-active"] == ["check"]
    assert drawn["markers"]["pg-incident"] == ["check"]
    assert drawn["markers"]["pg-completed"] == ["start"]
    assert drawn["markers"]["pg-taken"] == ["f1"]
    # the markers are on the drawn shapes, and the badges beside them
    assert browser.find_elements(By.CSS_SELECTOR, "g.djs-element.pg-incident[data-element-id='check']")
    assert browser.find_element(By.CSS_SELECTOR, ".pg-badge-incident").text == "1"
    incident = browser.find_element(By.CSS_SELECTOR, "#incidents tr.incident.ACTIVE")
    assert "directory down" in incident.text
    assert "Check the request" in incident.text  # the element's name from the diagram, not its id
    assert "requestTitle" in browser.find_element(By.ID, "variables").text

    incident.find_element(By.CSS_SELECTOR, "button.retry").click()
    WebDriverWait(browser, 20).until(expected_conditions.presence_of_element_located(
        (By.CSS_SELECTOR, "#incidents tr.incident.RESOLVED")))
    assert not browser.find_elements(By.CSS_SELECTOR, "#incidents button.retry")

    # the job is back: a worker completes it and the instance completes
    job = activate(rest, "console-check", key)
    assert rest.post(f"/jobs/{job['jobKey']}/completion", json={"variables": {}}).status_code == 204
    wait_until(lambda: rest.get(f"/process-instances/{key}").json()["state"] == "COMPLETED", "the instance to complete")
    browser.get(f"{console_url}/instances/{key}")
    drawn = diagram(browser)
    assert sorted(drawn["markers"]["pg-completed"]) == ["check", "end", "start"]
    assert "pg-active" not in drawn["markers"]
    assert browser.find_element(By.ID, "instance-state").text == "已完成 COMPLETED"


def test_resolving_a_job_incident_without_retries_raises_it_again(
    rest: httpx.Client, console_url: str, browser: WebDriver
) -> None:
    """Camunda docs, "Resolve incident": for a job incident the job needs retries first (what *retry*
    does); *resolve* alone, with none left, makes the engine raise the incident anew."""
    deploy(rest, "console-work.bpmn")
    key = create_instance(rest, "console-work")
    job = activate(rest, "console-check", key)
    assert rest.post(f"/jobs/{job['jobKey']}/failure", json={"retries": 0, "errorMessage": "still down"}
                     ).status_code == 204
    browser.get(f"{console_url}/instances/{key}")
    diagram(browser)
    browser.find_element(By.CSS_SELECTOR, "#incidents tr.incident.ACTIVE button.resolve").click()
    WebDriverWait(browser, 20).until(expected_conditions.presence_of_element_located(
        (By.CSS_SELECTOR, "#incidents tr.incident.RESOLVED")))
    active = browser.find_elements(By.CSS_SELECTOR, "#incidents tr.incident.ACTIVE")
    assert len(active) == 1 and "still down" in active[0].text
    assert diagram(browser)["markers"]["pg-incident"] == ["check"]


def test_a_called_instance_is_linked_both_ways(rest: httpx.Client, console_url: str, browser: WebDriver) -> None:
    deploy(rest, "console-work.bpmn", "console-parent.bpmn")
    parent = create_instance(rest, "console-parent")
    children = wait_until(lambda: rest.post("/process-instances/search", json={
        "filter": {"parentProcessInstanceKey": parent}}).json()["items"], "the called instance")
    child = str(children[0]["processInstanceKey"])
    browser.get(f"{console_url}/instances/{parent}")
    assert diagram(browser)["markers"]["pg-active"] == ["call-work"]
    browser.find_element(By.CSS_SELECTOR, f"#called a[href='/instances/{child}']").click()
    assert diagram(browser)["markers"]["pg-active"] == ["check"]
    assert browser.find_element(By.CSS_SELECTOR, f"a[href='/instances/{parent}']")


def test_an_unknown_instance_is_a_page_saying_so(console_url: str, browser: WebDriver) -> None:
    browser.get(f"{console_url}/instances/2251799813999999")
    assert "404" in browser.find_element(By.ID, "error").text
