"""The audit report of real runs: the demo's rollout and monthly SLA reviews on the embedded engine.

The demo runs every worker group; each process's last task (``audit.file-history``) files its report
from inside the instance, before the end event. The report generated afterwards from the engine's
records must agree with it on the final state; both are read as a person sees them, in Chromium.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from typer.testing import CliRunner

from procgov.cli import app as cli
from procgov.demo import rollout, slm
from procgov.demo.runner import DemoReport, run_demo
from procgov.groups import decision_registry
from tests.audit.conftest import skip_or_fail_missing
from workers.audit.history import load_history
from workers.audit.replay import ReplayReport, replay_log
from workers.audit.report import render_report, write_report
from workers.audit.report_pdf import print_pdf
from workers.audit.sources import SqliteLogSource
from workers.audit.store import DecisionStore

pytestmark = pytest.mark.timeout(300)
REPO = Path(__file__).resolve().parents[2]
NINE_STEPS = ["1 · Appoint the process owner", "2 · Organisation, goal, plan", "3 · Training, publicity",
              "4 · Pilot for quick wins", "5 · Official issuance", "6 · Full rollout", "7 · Day-to-day management",
              "8 · Re-optimise after six months", "9 · Lock in"]
OFFSET_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoReport]:
    """The demo's rollout and slm scenarios, every group filing into one shared report store."""
    root = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PROCGOV_REPORTS_URL", str(root / "store"))
        report = asyncio.run(run_demo(root / "run", bpmn_dir=REPO / "bpmn",
                                      scenarios=[("rollout", rollout), ("slm", slm)]))
    assert report.ok, report.problems + [r.detail for r in report.failed]
    yield report


def _store(demo: DemoReport) -> Path:
    return demo.data_dir.parent / "store"


def _key(demo: DemoReport, prefix: str) -> int:
    key = next(r.process_instance_key for r in demo.results if r.scenario.startswith(prefix))
    assert key is not None
    return key


def _replay(demo: DemoReport, key: int) -> ReplayReport:
    store = DecisionStore.open(f"sqlite:///{demo.data_dir / 'procgov.db'}")
    try:
        return replay_log(store.records(), registry=decision_registry(), rule_text=store.rule_text,
                          head=store.head(), process_instance_keys=[key])
    finally:
        store.dispose()


def _report_now(demo: DemoReport, key: int, **options: Any) -> str:
    history = load_history(SqliteLogSource(demo.data_dir / "engine"), key)
    return render_report(history, replay=_replay(demo, key), **options)


def _filed(demo: DemoReport, process_id: str, key: int) -> Path:
    path = _store(demo) / "audit" / process_id / f"{key}.html"
    assert path.is_file()
    return path


def test_filed_and_later_reports_agree_on_the_final_state(demo: DemoReport, tmp_path: Path) -> None:
    key = _key(demo, "rollout: nine steps")
    filed = _filed(demo, "procgov-rollout", key).read_text(encoding="utf-8")
    later = _report_now(demo, key)
    # Filed by the last task, before the end event: completing; afterwards: completed. Same final state.
    assert 'data-final-state="COMPLETED"' in filed and "完成中 completing" in filed
    assert "only the end event “Rollout closed” follows" in filed
    assert 'data-final-state="COMPLETED"' in later and "已完成 completed" in later
    state = re.compile(r'<span id="instance-state"[^>]*>([^<]*)</span>')
    assert state.findall(filed) == ["完成中 completing"] and state.findall(later) == ["已完成 completed"]


def test_every_form_of_the_audit_record_agrees_on_the_final_state(demo: DemoReport, tmp_path: Path) -> None:
    """#13 "a report generated during the run and one generated afterwards agree on the final state":
    the filed JSON, the filed HTML, and both read back with `procgov reports get` and the records."""
    key = _key(demo, "rollout: nine steps")
    stored = f"audit/procgov-rollout/{key}"
    filed = json.loads((_store(demo) / f"{stored}.json").read_text(encoding="utf-8"))
    # Filed before the end event: the records then said ACTIVE, and the document says so as of filing.
    assert filed["history"]["stateAtFiling"] == "ACTIVE" and "state" not in filed["history"]
    assert (filed["state"]["final"], filed["state"]["asFiled"]) == ("COMPLETED", "COMPLETING")
    assert 'data-final-state="COMPLETED"' in _filed(demo, "procgov-rollout", key).read_text(encoding="utf-8")

    runner = CliRunner()
    engine = ["--store", str(_store(demo)), "--data", str(demo.data_dir / "engine")]
    read = runner.invoke(cli, ["reports", "get", f"{stored}.json", "-o", str(tmp_path / "now.json"), *engine])
    assert read.exit_code == 0, read.output
    assert "final state COMPLETED (completed)" in read.output
    now = json.loads((tmp_path / "now.json").read_text(encoding="utf-8"))
    assert (now["state"]["final"], now["state"]["now"], now["state"]["asFiled"]) == (
        "COMPLETED", "COMPLETED", "COMPLETING")
    assert now["state"]["readFrom"].startswith("engine log") and now["state"]["filedAt"] == filed["state"]["filedAt"]
    assert now["state"]["explanation"].startswith("ended ")
    assert {k: v for k, v in now.items() if k != "state"} == {k: v for k, v in filed.items() if k != "state"}

    html = runner.invoke(cli, ["reports", "get", f"{stored}.html", "-o", str(tmp_path / "now.html"), *engine,
                               "--decisions", f"sqlite:///{demo.data_dir / 'procgov.db'}"])
    assert html.exit_code == 0, html.output
    page = (tmp_path / "now.html").read_text(encoding="utf-8")
    assert 'data-final-state="COMPLETED"' in page and ">已完成 completed</span>" in page
    assert 'id="replay-verdict" class="verdict pass"' in page  # re-rendered with the decision replay

    plain = runner.invoke(cli, ["reports", "get", f"{stored}.json", "-o", str(tmp_path / "asis.json"),
                                "--store", str(_store(demo))])
    assert plain.exit_code == 0 and json.loads((tmp_path / "asis.json").read_text())["state"] == filed["state"]
    other = runner.invoke(cli, ["reports", "list", "--store", str(_store(demo))])
    sla_key = next(w for w in other.output.split() if w.startswith("sla-review/"))
    refused = runner.invoke(cli, ["reports", "get", sla_key, "-o", str(tmp_path / "x"), *engine])
    assert refused.exit_code == 2 and "is not an audit record" in refused.output


@pytest.mark.browser
def test_rollout_report_reads_as_nine_steps(demo: DemoReport, chrome: WebDriver, tmp_path: Path) -> None:
    key = _key(demo, "rollout: nine steps")
    page = write_report(tmp_path / "rollout.html", _report_now(demo, key))
    chrome.get(page.as_uri())
    assert chrome.find_element(By.ID, "instance-state").text == "已完成 completed"
    titles = [h.text for h in chrome.find_elements(By.CSS_SELECTOR, "section.step h3")]
    assert len(titles) == 10  # the nine steps and the filing of the audit record
    for title, step in zip(titles, NINE_STEPS, strict=False):
        assert title.startswith(step) and title.endswith("已完成 completed"), titles
    body = chrome.find_element(By.TAG_NAME, "body").text
    assert "Step8_Prepare" not in body and "Exam_Take" not in body  # names, not ids
    step3 = chrome.find_element(By.ID, "step-Step3_Training").text
    assert "Take the closed-book exam" in step3 and "assigned to 指派给 chen.jing" in step3
    assert "rollout.exam-grade" in step3 and "000A step 3" in step3  # the decision with its clause
    step1_rows = chrome.find_elements(By.CSS_SELECTOR, "#step-Step1_Owner table.activities tr")
    assert [r.find_elements(By.TAG_NAME, "td")[0].text for r in step1_rows[1:]] == [
        "Check owner eligibility (senior executive)", "Register the rollout in the process registry",
        "Tell the owner the three duties"]  # no gateway, no events
    # Each step draws its part of the diagram with the path taken.
    step_shape = chrome.find_element(
        By.CSS_SELECTOR, '#diagram-Step6_FullRollout g[data-element-id="Step6_GoLive50"] rect')
    assert step_shape.is_displayed() and step_shape.value_of_css_property("stroke") == "rgb(31, 138, 59)"
    times = OFFSET_TIME.findall(chrome.find_element(By.ID, "step-Step4_Pilot").text)
    assert len(times) >= 4, "every time carries its zone's offset"
    assert chrome.find_element(By.ID, "timezone").text.startswith("Asia/Shanghai")


def test_the_time_zone_is_configurable(demo: DemoReport) -> None:
    key = _key(demo, "rollout: nine steps")
    html = _report_now(demo, key, timezone="UTC")
    assert OFFSET_TIME.search(html) is None and re.search(r"\d\d:\d\d:\d\d \+00:00", html)


@pytest.mark.browser
def test_fines_are_tables_with_clause_and_person(demo: DemoReport, chrome: WebDriver, tmp_path: Path) -> None:
    key = _key(demo, "slm: monthly SLA review")
    page = write_report(tmp_path / "review.html", _report_now(demo, key))
    chrome.get(page.as_uri())
    fines = chrome.find_element(By.CSS_SELECTOR, '.fine[data-variable="penalties"]')
    (items,) = [t for t in fines.find_elements(By.CSS_SELECTOR, "table.fines")
                if "line items" in t.find_element(By.TAG_NAME, "caption").text]
    headings = [th.text for th in items.find_elements(By.TAG_NAME, "th")]
    assert headings[:5] == ["条款 clause", "责任人 person", "角色 role", "部门 department", "金额 amount (yuan)"]
    rows = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in items.find_elements(By.TAG_NAME, "tr")[1:]]
    assert ["100104 §2.1.1", "wang.fang", "流程主管 process supervisor"] in [r[:3] for r in rows]
    assert "department_head" not in chrome.find_element(By.TAG_NAME, "body").text
    assert "{" not in fines.text  # no raw JSON


@pytest.mark.browser
def test_printing_keeps_the_whole_diagram(demo: DemoReport, chrome: WebDriver, tmp_path: Path) -> None:
    """The print layout scales the diagram onto the page; the PDF's first page shows all of it."""
    key = _key(demo, "rollout: nine steps")
    page = write_report(tmp_path / "rollout.html", _report_now(demo, key))
    chrome.get(page.as_uri())
    chrome.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})  # type: ignore[attr-defined]
    box = chrome.execute_script(
        "const s = document.getElementById('diagram').getBoundingClientRect();"
        "return [s.left, s.right, s.width, s.height, document.documentElement.clientWidth];")
    left, right, width, height, page_width = box
    assert left >= 0 and right <= page_width and width > 0.8 * page_width, box
    assert height < 165 / 25.4 * 96 + 1  # at most 165 mm high: the diagram fits the A4 landscape page

    pdf = print_pdf(page, tmp_path / "rollout.pdf")
    if shutil.which("pdftoppm") is None:
        skip_or_fail_missing("pdftoppm (Debian package poppler-utils) is not installed")
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    (ppm,) = tmp_path.glob("page*.ppm")
    width, height, pixels = _read_ppm(ppm.read_bytes())
    green = [i % width for i in range(width * height) if _near(pixels[3 * i:3 * i + 3], (31, 138, 59))]
    assert green, "the path taken is drawn on the first printed page"
    # The path runs from the start event (left) to the end event (right), all on the page.
    assert min(green) < 0.15 * width and max(green) > 0.85 * width, (min(green), max(green), width)


def _read_ppm(data: bytes) -> tuple[int, int, bytes]:
    """A binary PPM (P6, what pdftoppm writes by default): width, height, RGB bytes."""
    fields = data.split(maxsplit=4)
    assert fields[0] == b"P6" and fields[3] == b"255"
    return int(fields[1]), int(fields[2]), fields[4]


def _near(pixel: bytes, colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=True))


@pytest.mark.browser
def test_monthly_sla_report_without_checks_gives_no_verdict(demo: DemoReport, chrome: WebDriver) -> None:
    """The demo's reviews measure no indicator: the month says so instead of "indicators met"."""
    reports = sorted((_store(demo) / "sla-review").glob("sla-review-*.html"))
    assert reports
    chrome.get(reports[0].as_uri())
    overall = chrome.find_element(By.ID, "overall")
    assert overall.get_attribute("data-state") == "unchecked" and overall.text == "未检查指标 no indicators checked"
    assert chrome.find_element(By.ID, "no-indicators").is_displayed()
    body = chrome.find_element(By.TAG_NAME, "body").text
    assert "met: yes" not in body and "process_supervisor" not in body and "department_head" not in body


def test_every_group_files_into_the_shared_store_listed_by_the_cli(demo: DemoReport) -> None:
    result = CliRunner(env={"COLUMNS": "250"}).invoke(cli, ["reports", "list", "--store", str(_store(demo))])
    assert result.exit_code == 0, result.output
    key = _key(demo, "rollout: nine steps")
    assert f"audit/procgov-rollout/{key}.html" in result.output
    assert f"audit/procgov-rollout/{key}.json" in result.output
    assert "sla-review/sla-review-" in result.output
    only_audit = CliRunner(env={"COLUMNS": "250"}).invoke(
        cli, ["reports", "list", "audit/procgov-rollout/", "--store", str(_store(demo))])
    assert "sla-review/" not in only_audit.output and f"{key}.html" in only_audit.output


@pytest.mark.browser
def test_late_change_request_shows_its_deadline_against_the_actual_time(
    demo: DemoReport, chrome: WebDriver, tmp_path: Path
) -> None:
    """100104 §2.3.4: published after its two-working-day deadline; the report says by how much."""
    key = _key(demo, "slm: change request published late")
    page = write_report(tmp_path / "late.html", _report_now(demo, key))
    chrome.get(page.as_uri())
    titles = [h.text for h in chrome.find_elements(By.CSS_SELECTOR, "section.step h3")]
    assert titles[0].startswith("Check the change request form is complete → ")  # tasks in a row: one section
    (row,) = chrome.find_elements(By.CSS_SELECTOR, "table.deadlines tr.missed")
    cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
    assert cells[0] == "Publication overdue (reminded daily)"
    assert cells[1] == "Planning office reviews, changes and publishes"
    assert OFFSET_TIME.fullmatch(cells[2]) and OFFSET_TIME.fullmatch(cells[3]) and cells[3] > cells[2]
    assert cells[4].startswith("逾期 missed: due ") and " late" in cells[4]
    assert "overdueReminders" not in chrome.find_element(By.TAG_NAME, "body").text


def _collapse(bpmn_xml: str, sub_process: str, inner: set[str]) -> str:
    """The model with ``sub_process`` collapsed as Modeler draws it: a task-sized shape on the process's
    plane and the sub-process's content on a plane of its own (drill-down)."""
    import xml.etree.ElementTree as ET

    di, dc = "http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DC"
    root = ET.fromstring(bpmn_xml)
    plane = root.find(f".//{{{di}}}BPMNPlane")
    assert plane is not None
    diagram = ET.SubElement(root, f"{{{di}}}BPMNDiagram", {"id": f"{sub_process}_diagram"})
    own = ET.SubElement(diagram, f"{{{di}}}BPMNPlane", {"id": f"{sub_process}_plane", "bpmnElement": sub_process})
    for item in list(plane):
        ref = item.get("bpmnElement", "")
        if ref in inner:
            plane.remove(item)
            own.append(item)
        elif ref == sub_process:
            item.set("isExpanded", "false")
            bounds = item.find(f"{{{dc}}}Bounds")
            assert bounds is not None
            bounds.set("width", "100")
            bounds.set("height", "80")
    return ET.tostring(root, encoding="unicode")


def test_a_collapsed_sub_process_is_drawn_from_its_own_plane(demo: DemoReport) -> None:
    key = _key(demo, "rollout: nine steps")
    history = load_history(SqliteLogSource(demo.data_dir / "engine"), key)
    assert history.bpmn_xml is not None
    from workers.audit.report_model import parse_model

    model = parse_model(history.bpmn_xml, history.bpmn_process_id)
    inner = {e for e in model.elements if model.step_of(e) == "Step2_Plan" and e != "Step2_Plan"}
    inner |= {f"Flow_{a}_{b}" for a in inner for b in model.elements[a].outgoing}
    html = render_report(history, bpmn_xml=_collapse(history.bpmn_xml, "Step2_Plan", inner))
    main = html[html.index('<svg id="diagram"'):html.index("</svg>", html.index('<svg id="diagram"'))]
    assert 'data-element-id="Step2_Plan"' in main and 'data-element-id="Step2_MakePlan"' not in main
    step = html[html.index('<svg id="diagram-Step2_Plan"'):]
    step = step[:step.index("</svg>")]
    assert re.search(r'<g class="[^"]*visited[^"]*" data-element-id="Step2_MakePlan"', step)


def test_a_report_made_mid_run_says_where_the_instance_waits(demo: DemoReport) -> None:
    """The records up to the moment step 5's issuance task opened: in progress, not completing."""
    from dataclasses import replace

    from workers.audit.history import build_history

    key = _key(demo, "rollout: nine steps")
    source = SqliteLogSource(demo.data_dir / "engine")
    records = source.instance_records(key)
    cut = next(r.position for r in records if r.value_type == "USER_TASK" and r.intent == "CREATED"
               and r.value.get("elementId") == "Step5_Issue")
    history = replace(build_history([r for r in records if r.position <= cut], key),
                      bpmn_xml=load_history(source, key).bpmn_xml)
    html = render_report(history)
    assert 'data-final-state="ACTIVE"' in html and "waiting at Issue the new process as a formal document" in html
    assert re.search(r'id="step-Step6_FullRollout"[^>]*>\s*<div class="step-head">\s*'
                     r'<h3>6 · Full rollout \(全面推行\) '
                     r'<span class="badge NOT_REACHED">未到达 not reached', html)


def test_who_did_each_human_step_is_read_from_the_user_task_records(demo: DemoReport) -> None:
    """Camunda user tasks have no job: the assignee, the completing user, the action and both times come
    from the USER_TASK records (Camunda docs, "User tasks": CREATED, ASSIGNED, COMPLETED)."""
    key = _key(demo, "rollout: nine steps")
    history = load_history(SqliteLogSource(demo.data_dir / "engine"), key)
    plan = next(t for t in history.user_tasks if t.element_id == "Step2_MakePlan")
    assert (plan.outcome, plan.assignee, plan.action) == ("COMPLETED", "li.ming", "complete")
    assert plan.assignments and plan.assignments[0].assignee == "li.ming" and plan.ended_at >= plan.created_at
    exams = [t for t in history.user_tasks if t.element_id == "Exam_Take"]
    assert len(exams) == 5 and {t.assignee for t in exams} >= {"chen.jing", "wang.fang"}
    html = render_report(history)
    who = r"assigned to 指派给 li\.ming; opened 创建于 [^;]+; completed by 完成人 li\.ming \(complete\)"
    assert re.search(who, html)
