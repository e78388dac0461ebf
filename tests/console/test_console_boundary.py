"""The console is a client, like the workers: it reaches the engine only over the REST API, so it never
imports :mod:`engine` (neither directly nor through what it imports)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CONSOLE = Path(__file__).resolve().parents[2] / "procgov" / "console"


def test_no_console_module_imports_the_engine() -> None:
    for module in CONSOLE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not [n for n in names if n == "engine" or n.startswith("engine.")], f"{module.name} imports {names}"


def test_loading_the_console_loads_no_engine_module() -> None:
    probe = ("import sys, procgov.console.app, procgov.commands.console;"
             "print(sorted(m for m in sys.modules if m == 'engine' or m.startswith('engine.')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"
