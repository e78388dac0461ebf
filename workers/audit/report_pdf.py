"""Print an audit report to PDF with headless Chromium, as a person would print it from the browser.

The page's print stylesheet does the layout (A4 landscape, the whole diagram scaled onto the first
page, steps kept together); Chromium's ``--print-to-pdf`` honours its ``@page`` size. Chromium is a
program on the machine (Debian package ``chromium``), found on PATH or named by ``PROCGOV_CHROMIUM``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

#: Flags for a headless, sandbox-less run that never reaches the network on its own.
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
)
DEFAULT_TIMEOUT_S = 120.0


class PdfError(RuntimeError):
    """Chromium is missing or could not print the report; the message says which and how to fix it."""


def find_chromium() -> str:
    named = os.environ.get("PROCGOV_CHROMIUM")
    found = named or shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not found:
        raise PdfError("no Chromium to print with: install the Debian package 'chromium' or set PROCGOV_CHROMIUM")
    return found


def print_pdf(html_path: Path, pdf_path: Path, *, chromium: str | None = None,
              timeout_s: float = DEFAULT_TIMEOUT_S) -> Path:
    """Write ``pdf_path`` from the report at ``html_path``; returns the PDF's path."""
    browser = chromium or find_chromium()
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="procgov-pdf-") as profile:
        command = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={pdf_path.resolve()}",
                   html_path.resolve().as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PdfError(f"Chromium ({browser}) could not print {html_path}: {error}") from error
    if done.returncode != 0 or not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise PdfError(f"Chromium ({browser}) exited {done.returncode} without a PDF of {html_path}: {last}")
    return pdf_path
