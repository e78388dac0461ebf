"""Headless Chromium and a loopback file server for tests of what a person sees (bpmn-js, form-js pages).

The pages load bpmn-js and form-js from tools/node_modules (``npm ci --prefix tools``), served with the
repository root as document root on 127.0.0.1: no CDN, no network beyond loopback.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from selenium.webdriver.remote.webdriver import WebDriver

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "tools" / "node_modules"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


@contextmanager
def serve_repository() -> Iterator[str]:
    """Serve the repository root on a free loopback port; yields the base URL."""
    for package in ("bpmn-js", "@bpmn-io/form-js"):
        if not (NODE_MODULES / package).is_dir():
            skip_or_fail(f"tools/node_modules/{package} is missing: run `make setup` (npm ci --prefix tools)")
    handler = functools.partial(_QuietHandler, directory=str(ROOT))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def headless_chromium(width: int = 1920, height: int = 1080) -> Iterator[WebDriver]:
    """Headless Chromium (the CI flags, a fresh profile) with a window of the given size."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not browser or not driver_path:
        skip_or_fail("headless chromium (Debian packages chromium, chromium-driver) is not installed")
    assert browser and driver_path
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="procgov-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.set_script_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
