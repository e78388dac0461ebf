"""The issue's acceptance: a whole change request (bpmn/procgov-change-request.bpmn, 100104 §2.3) done
through the console, in headless Chromium, by the people it names, each logged in with a password.

A real ``procgov engine`` process, the real slm and audit workers (``procgov workers``), the user task
guard (``procgov guard``: every user task of bpmn/ has its listeners) and a ``procgov console`` that
needs login. The requester submits the change plan, the department head approves, the planning office's
head takes the discussion and the publication from the group's queue (claims them: the guard denies a
planning-office task completed unassigned, and one by anybody outside the office); the workers do the
rest, and the audit record they file shows up on the console's report page.
"""

from __future__ import annotations

import json
import re
import socket
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

from procgov.console.passwords import hash_password
from tests.browser import ROOT, headless_chromium
from tests.console.conftest import Running, start

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

MODEL = ROOT / "bpmn" / "procgov-change-request.bpmn"
FORMS = [ROOT / "bpmn" / f"slm-change-{name}.form" for name in ("plan", "approval", "discussion", "publication")]
PEOPLE = {"wang.fang": "requester-pass-1", "chen.jing": "head-pass-2", "zhou.hua": "planner-pass-3"}
REQUEST = {"processId": "order-to-delivery", "processName": "订单履约流程 Order to delivery", "currentVersion": "V2.1",
           "origin": "inspection", "scope": "cross-department", "department": "销售部 Sales",
           "departmentHead": "chen.jing", "requester": "wang.fang",
           "problem": "order receipt form lacks the delivery address",
           "proposedChange": "add the delivery address to the receipt form"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, process: Running, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.process.poll() is None, "".join(process.output)[-3000:]
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not ready in {timeout_s}s: {''.join(process.output)[-3000:]}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Engine, workers (slm, audit), the guard and a console with login, all processes on free loopback ports."""
    root = tmp_path_factory.mktemp("change-request")
    data = root / "engine"
    engine = start(["engine", "--port", "0", "--rest-port", "0", "--data", str(data)], "REST API on")
    running: list[Running] = [engine]
    try:
        grpc = re.search(r"Zeebe gateway protocol on (\S+)", "".join(engine.output))
        assert grpc, engine.output
        rest = engine.url.removesuffix("/v2")
        env = {"PROCGOV_GATEWAY_ADDRESS": grpc.group(1), "PROCGOV_HEALTH_PORT": str(_free_port()),
               "PROCGOV_STORE_URL": f"sqlite:///{root / 'procgov.db'}", "PROCGOV_REPORTS_URL": str(root / "reports"),
               "PROCGOV_AUDIT_DATA_DIR": str(data), "PROCGOV_SMTP__HOST": "127.0.0.1",
               "PROCGOV_SMTP__PORT": str(_free_port()), "PROCGOV_LOG_JSON": "true"}
        running.append(start(["workers", "--group", "slm", "--group", "audit"], "{", env=env))
        wait_ready(f"http://127.0.0.1:{env['PROCGOV_HEALTH_PORT']}/readyz", running[-1])
        guard_env = {**env, "PROCGOV_REST_URL": rest, "PROCGOV_HEALTH_PORT": str(_free_port())}
        running.append(start(["guard"], "guard started", env=guard_env))
        wait_ready(f"http://127.0.0.1:{guard_env['PROCGOV_HEALTH_PORT']}/readyz", running[-1])
        users = json.dumps({name: hash_password(password, n=2**10) for name, password in PEOPLE.items()})
        console = start(["console", "--rest-url", rest, "--port", "0", "--store", str(root / "reports")],
                        "procgov console:", env={"PROCGOV_CONSOLE_USERS": users})
        running.append(console)
        yield {"rest": rest, "console": console.url, "workers": running[1]}
    finally:
        for process in reversed(running):
            process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with headless_chromium(1400, 1000) as driver:
        yield driver


def log_in(driver: WebDriver, console: str, name: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{console}/tasks")
    assert "/login" in driver.current_url
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PEOPLE[name])
    driver.find_element(By.ID, "login").click()
    WebDriverWait(driver, 20).until(expected_conditions.text_to_be_present_in_element((By.ID, "user"), name))


def open_task(driver: WebDriver, console: str, instance: str, name: str, query: str, timeout_s: float = 60) -> None:
    """Open the task called ``name`` of ``instance`` from the inbox (reloaded until the workers got it there)."""
    deadline = time.monotonic() + timeout_s
    while True:
        driver.get(f"{console}/tasks?{query}")
        links = [row.find_element(By.LINK_TEXT, name) for row in driver.find_elements(By.CSS_SELECTOR, "#tasks tr.task")
                 if instance in row.text and name in row.text]
        if links:
            links[0].click()
            break
        assert time.monotonic() < deadline, f"task {name!r} of {instance} never reached the inbox ({query})"
        time.sleep(0.5)
    ready = driver.execute_async_script("const done = arguments[arguments.length - 1];"
                                        "window.procgovForm.ready.then(() => done(window.procgovForm.warnings),"
                                        " (e) => done(String(e)));")
    assert ready == [], ready


def assign_to_me(driver: WebDriver, name: str) -> None:
    driver.find_element(By.ID, "claim").click()
    WebDriverWait(driver, 20).until(expected_conditions.text_to_be_present_in_element((By.ID, "task-assignee"), name))
    driver.execute_async_script("const done = arguments[arguments.length - 1]; window.procgovForm.ready.then(done);")


def fill(driver: WebDriver, label: str, text: str) -> None:
    field = driver.find_element(By.XPATH, f"//div[@id='form']//label[contains(., '{label}')]/following::textarea[1]")
    field.clear()
    field.send_keys(text, Keys.TAB)


def complete(driver: WebDriver) -> None:
    driver.find_element(By.ID, "complete").click()
    WebDriverWait(driver, 20).until(expected_conditions.url_contains("/tasks?done="))


def test_a_whole_change_request_through_the_console(stack: dict[str, Any], browser: WebDriver) -> None:
    console = stack["console"]
    with httpx.Client(base_url=f"{stack['rest']}/v2", timeout=30) as rest:
        files = [("resources", (MODEL.name, MODEL.read_bytes()))]
        files += [("resources", (form.name, form.read_bytes())) for form in FORMS]
        assert rest.post("/deployments", files=files).status_code == 200
        created = rest.post("/process-instances", json={"processDefinitionId": "procgov-change-request",
                                                        "variables": REQUEST})
        assert created.status_code == 200, created.text
        key = str(created.json()["processInstanceKey"])

        # 1. the requester submits the change plan (assigned to them by the model), the form shows the request
        log_in(browser, console, "wang.fang")
        open_task(browser, console, key, "Department submits the change plan", "assignee=me")
        shown = browser.execute_script("return [...document.querySelectorAll('#form textarea')].map(t => t.value)")
        assert REQUEST["problem"] in shown and REQUEST["proposedChange"] in shown  # the task's variables
        fill(browser, "Proposed change", "add the delivery address and a map link to the receipt form")
        complete(browser)

        # 2. the department head approves
        log_in(browser, console, "chen.jing")
        open_task(browser, console, key, "Department head approves the change", "assignee=me")
        browser.find_element(By.CSS_SELECTOR, "#form input[type=checkbox]").click()
        fill(browser, "Comment", "同意 agreed")
        complete(browser)

        # 3. and 4. the planning office's head takes the discussion, then the publication, from its queue
        log_in(browser, console, "zhou.hua")
        open_task(browser, console, key, "Heads of the departments concerned discuss the change", "assignee=unassigned")
        assign_to_me(browser, "zhou.hua")
        fill(browser, "Minutes", "Sales and Warehouse agree; the map link is optional")
        complete(browser)
        open_task(browser, console, key, "Review, change and publish the process", "assignee=unassigned")
        assign_to_me(browser, "zhou.hua")
        fill(browser, "Expected effect", "no more returned orders")
        complete(browser)

        deadline = time.monotonic() + 90
        while (state := rest.get(f"/process-instances/{key}").json()["state"]) != "COMPLETED":
            assert state == "ACTIVE" and time.monotonic() < deadline, (state, "".join(stack["workers"].output)[-3000:])
            time.sleep(0.5)
        variables = {v["name"]: json.loads(v["value"]) for v in rest.post(
            "/variables/search", json={"filter": {"processInstanceKey": key}, "page": {"limit": 1000}}).json()["items"]}
    assert (variables["changeOutcome"], variables["newVersion"]) == ("published", "V2.2")
    assert variables["proposedChange"] == "add the delivery address and a map link to the receipt form"
    assert variables["approved"] is True and variables["approvalComment"] == "同意 agreed"

    # the instance as the console shows it: completed, the path taken through every task, no incident
    browser.get(f"{console}/instances/{key}")
    drawn = browser.execute_async_script("const done = arguments[arguments.length - 1];"
                                         "window.procgovDiagram.ready.then(done, (e) => done({error: String(e)}));")
    assert "error" not in drawn, drawn
    assert browser.find_element(By.ID, "instance-state").text == "已完成 COMPLETED"
    assert {"submit-change-plan", "approve-change", "discuss-change", "publish-change",
            "file-audit-record"} <= set(drawn["markers"]["pg-completed"])
    assert "pg-active" not in drawn["markers"] and "pg-incident" not in drawn["markers"]
    assert {"wang.fang", "chen.jing", "zhou.hua"} <= set(browser.find_element(By.ID, "user-tasks").text.split())

    # the audit record the last task filed is on the report page and opens
    browser.get(f"{console}/reports")
    link = browser.find_element(By.CSS_SELECTOR, f"#reports a[href$='/procgov-change-request/{key}.html']")
    report = httpx.get(link.get_attribute("href") or "", cookies={c["name"]: c["value"] for c in browser.get_cookies()})
    assert report.status_code == 200 and key in report.text
