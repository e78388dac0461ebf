"""The console is a client, like the workers: it reaches the engine only over the REST API, so it never
imports :mod:`engine`. ``make lint`` checks the imports statically (import-linter, pyproject.toml); this
checks what loading the console really loads."""

from __future__ import annotations

import subprocess
import sys


def test_loading_the_console_loads_no_engine_module() -> None:
    probe = ("import sys, procgov.console.app, procgov.commands.console;"
             "print(sorted(m for m in sys.modules if m == 'procgov_engine' or m.startswith('procgov_engine.')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"
