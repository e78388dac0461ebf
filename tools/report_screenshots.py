"""Screenshots of the reports for people to look at: ``make report-screenshots`` (or run this file).

Runs the demo's rollout and slm scenarios on the embedded engine with every group filing into one
report store, then renders what an auditor and a department head open: the audit reports filed
during the run and made afterwards (rollout, change request, monthly review), their printed PDFs'
pages, the monthly SLA reports, and the console's pages (``procgov console`` over the demo's engine,
restarted on its data). Everything goes to ``var/screenshots/`` (not committed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000")
MAX_HEIGHT = 12_000  # px: very long pages are cut there (the PDF pages show the rest)


def _driver(profile: str):  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)


def shoot(driver, page: Path, png: Path) -> None:  # type: ignore[no-untyped-def]
    """The first screen (``-top.png``) and the whole page (up to MAX_HEIGHT) as PNGs."""
    driver.set_window_size(1400, 1400)
    driver.get(page.resolve().as_uri())
    driver.save_screenshot(str(png.with_name(png.stem + "-top.png")))
    height = min(int(driver.execute_script("return document.documentElement.scrollHeight")), MAX_HEIGHT)
    driver.set_window_size(1400, height)
    driver.save_screenshot(str(png))
    print(f"  {png}")


def shoot_url(driver, url: str, png: Path) -> None:  # type: ignore[no-untyped-def]
    """A console page once its scripts drew the diagram or the form (first screen and whole page)."""
    driver.set_window_size(1400, 1000)
    driver.get(url)
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const ready = (window.procgovDiagram && window.procgovDiagram.ready)"
        " || (window.procgovForm && window.procgovForm.ready) || Promise.resolve();"
        "ready.then(() => done(), () => done());")
    driver.save_screenshot(str(png.with_name(png.stem + "-top.png")))
    height = min(int(driver.execute_script("return document.documentElement.scrollHeight")), MAX_HEIGHT)
    driver.set_window_size(1400, height)
    driver.save_screenshot(str(png))
    print(f"  {png}")


def _launch(args: list[str], marker: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``procgov ARGS`` in the background, its output in ``log``; returns it and the URL on the line with
    ``marker``."""
    procgov = Path(sys.executable).with_name("procgov")
    with log.open("wb") as sink:
        process = subprocess.Popen([str(procgov), *args], stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if marker in line:
                url = next(word for word in line.split() if word.startswith("http://"))
                return process, url.rstrip("/").removesuffix("/v2")
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"procgov {args[0]} did not start: see {log}")


def console_pages(driver, data_dir: Path, store_dir: Path, keys: list[int], out: Path) -> None:  # type: ignore[no-untyped-def]
    """The console over the demo's engine (restarted on its data, REST on a free port): inbox, instances,
    each demo instance, the reports."""
    engine, rest = _launch(["engine", "--port", "0", "--rest-port", "0", "--data", str(data_dir)], "REST API on",
                           out / "console-engine.log")
    console = None
    try:
        console, url = _launch(["console", "--rest-url", rest, "--port", "0", "--store", str(store_dir)],
                               "procgov console:", out / "console.log")
        pages = [("console-tasks", "/tasks?state="), ("console-instances", "/instances"),
                 ("console-reports", "/reports")]
        pages += [(f"console-instance-{key}", f"/instances/{key}") for key in keys]
        for name, path in pages:
            shoot_url(driver, url + path, out / f"{name}.png")
    finally:
        for process in (console, engine):
            if process is not None:
                process.terminate()
                process.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "var" / "screenshots")
    args = parser.parse_args()
    from procgov.demo import rollout, slm
    from procgov.demo.runner import run_demo
    from procgov.groups import decision_registry
    from workers.audit.history import load_history
    from workers.audit.replay import replay_log
    from workers.audit.report import render_report, write_report
    from workers.audit.report_pdf import print_pdf
    from workers.audit.sources import SqliteLogSource
    from workers.audit.store import DecisionStore

    out: Path = args.out
    shutil.rmtree(out, ignore_errors=True)
    store_dir = out / "store"
    os.environ["PROCGOV_REPORTS_URL"] = str(store_dir)
    demo = asyncio.run(run_demo(out / "run", bpmn_dir=REPO / "bpmn", scenarios=[("rollout", rollout), ("slm", slm)]))
    if not demo.ok:
        print(f"demo failed: {demo.problems} {[r.detail for r in demo.failed]}", file=sys.stderr)
        return 1
    source = SqliteLogSource(demo.data_dir / "engine")
    decisions = DecisionStore.open(f"sqlite:///{demo.data_dir / 'procgov.db'}")
    pages: list[tuple[str, Path]] = []
    for result in demo.results:
        key = result.process_instance_key
        if key is None:
            continue
        name = result.scenario.split(":")[0] + f"-{key}"
        history = load_history(source, key)
        replay = replay_log(decisions.records(), registry=decision_registry(), rule_text=decisions.rule_text,
                            head=decisions.head(), process_instance_keys=[key])
        later = write_report(out / f"audit-{name}-afterwards.html", render_report(history, replay=replay))
        pages.append((f"audit-{name}-afterwards", later))
        filed = store_dir / "audit" / history.bpmn_process_id / f"{key}.html"
        if filed.is_file():
            pages.append((f"audit-{name}-filed", filed))
        if result.scenario.startswith("rollout"):
            pdf = print_pdf(later, out / f"audit-{name}.pdf")
            if shutil.which("pdftoppm"):
                subprocess.run(["pdftoppm", "-r", "70", "-f", "1", "-l", "3", "-png", str(pdf),
                                str(out / f"audit-{name}-pdf-page")], check=True, timeout=120)
    decisions.dispose()
    for report in sorted((store_dir / "sla-review").glob("sla-review-*.html"))[:2]:
        pages.append((report.stem, report))
    profile = tempfile.mkdtemp(prefix="procgov-shots-")
    driver = _driver(profile)
    try:
        print(f"screenshots in {out}:")
        for name, page in pages:
            shoot(driver, page, out / f"{name}.png")
        keys = [r.process_instance_key for r in demo.results if r.process_instance_key is not None]
        console_pages(driver, demo.data_dir / "engine", store_dir, keys, out)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    for png in sorted(out.glob("*-pdf-page-*.png")):
        print(f"  {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
