"""Every command in README.md's ``sh`` blocks works as written on a fresh clone.

The test builds a fresh checkout (the tracked top-level entries, the set-up ``.venv`` and ``tools/``,
no ``var/`` and no ``.env``), then runs each README command line in it, in order, as its own process:
``procgov engine`` and ``procgov workers`` keep running in the background like the README's separate
terminals; every other command must exit 0. Two things are filled in, and only these:

* the engine's ``--port 26500`` and ``--rest-port`` become free ports (tests share the machine), and every
  command gets the gRPC address as ``PROCGOV_GATEWAY_ADDRESS`` (26500 is the settings' default, which is checked)
  and the REST one as ``PROCGOV_REST_URL``, and
  the workers a free ``PROCGOV_HEALTH_PORT``;
* the capitalised keys the README explains (``INSTANCE_KEY``, ``TASK_KEY``, ``INCIDENT_KEY``) are
  taken from the output of the command that prints them, which is re-run (bounded) until it does,
  as a reader would wait for the engine.

Lines this machine cannot run are skipped by the explicit list :data:`NOT_RUN_HERE`, with the reason;
any other command fails the test, so a new README line is either runnable or listed.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROCGOV = ".venv/bin/procgov"
ENGINE_PORT_AS_WRITTEN = "26500"

#: First word → why this test does not run it.
NOT_RUN_HERE = {
    "make": "`make demo` and `make test` are the demo and the suite this test is part of (tests/demo, CI)",
    "docker": "no container engine here: tests/deploy validates docker-compose.yml against the Compose spec",
    "kubectl": "no cluster here: tests/deploy validates deploy/k8s with kubernetes-validate",
    "pip": "`pip install .` into a fresh venv, then the demo: tests/demo/test_demo_packaging.py",
}


def readme_commands(text: str) -> Iterator[list[str]]:
    """Each command line of every ```sh block, split like a shell would, comments dropped."""
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                yield words


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fresh_clone(target: Path) -> Path:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    target.mkdir()
    for name in sorted({path.split("/")[0] for path in tracked} | {".venv", ".tools"}):
        if (ROOT / name).exists():
            (target / name).symlink_to(ROOT / name)
    assert not (target / "var").exists() and not (target / ".env").exists()
    return target


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url}: the process exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{url} did not answer in {limit_s}s:\n{log.read_text()[-3000:]}")


def _wait_gateway(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"procgov engine exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        if "serving the Zeebe gateway protocol" in log.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.2)
    pytest.fail(f"procgov engine did not serve on {port} in 60s")


def _task_keys(output: str, instance: str | None) -> list[str]:
    """The keys of the open user tasks `procgov tasks list` prints for ``instance`` (its last column)."""
    rows = re.findall(r"^(\d+)\s+CREATED\s.*\s(\d+)$", output, re.MULTILINE)
    return [key for key, last in rows if last == instance]


def _table_keys(output: str, instance: str | None = None) -> list[str]:
    """The first column of a rich table's rows (optionally only rows naming ``instance``)."""
    rows = re.findall(r"^│ (\d+)\s+│ (\d+)\s+│", output, re.MULTILINE)
    return [key for key, second in rows if instance is None or second == instance]


def test_readme_commands_run_as_written(tmp_path: Path) -> None:
    from workers.runtime.settings import WorkerSettings

    default_gateway = WorkerSettings.model_fields["gateway_address"].default
    assert default_gateway.endswith(f":{ENGINE_PORT_AS_WRITTEN}"), "README's engine port is the workers' default"

    clone = _fresh_clone(tmp_path / "procgov")
    port, health_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROCGOV_", "ZEEBE_", "CAMUNDA_"))}
    env |= {
        "PROCGOV_GATEWAY_ADDRESS": f"127.0.0.1:{port}",
        "PROCGOV_HEALTH_PORT": str(health_port),
        "COLUMNS": "250",
        "PROCGOV_LOG_JSON": "true",
    }
    keys: dict[str, str] = {}
    rest_port = 0
    background: list[subprocess.Popen[bytes]] = []
    ran: list[str] = []

    # What each key-printing command must print, and how to read the key from its output.
    producers: dict[tuple[str, ...], tuple[str, Callable[[str], str | None]]] = {
        ("start", "procgov-change-request"): (
            "INSTANCE_KEY",
            lambda out: (re.findall(r'"processInstanceKey": (\d+)', out) or [None])[0],
        ),
        ("tasks", "list"): ("TASK_KEY", lambda out: (_task_keys(out, keys.get("INSTANCE_KEY")) or [None])[0]),
        ("incidents", "list"): ("INCIDENT_KEY", lambda out: (_table_keys(out) or [None])[0]),
    }

    commands = list(readme_commands((ROOT / "README.md").read_text(encoding="utf-8")))
    try:
        for words in commands:
            line = shlex.join(words)
            if words[0] in NOT_RUN_HERE:
                continue
            assert words[0] == PROCGOV, f"README command this test cannot run (add it to NOT_RUN_HERE?): {line}"
            args = [keys.get(word, word) for word in words[1:]]
            unknown = [w for w in args if re.fullmatch(r"[A-Z][A-Z_]+_KEY", w)]
            assert not unknown, f"{line}: {unknown} not printed by an earlier README command"
            argv = [str(clone / PROCGOV), *args]
            log = tmp_path / f"{len(ran):02d}-{args[0]}.log"
            if args[0] == "engine" and args[1].startswith("--"):  # the server, not `engine export`
                i = args.index("--port")
                assert args[i + 1] == ENGINE_PORT_AS_WRITTEN, line
                args[i + 1] = argv[i + 2] = str(port)
                if "--rest-port" in args:  # the REST port as written is Camunda's 8080; any free one here
                    j = args.index("--rest-port")
                    rest_port = _free_port()
                    args[j + 1] = argv[j + 2] = str(rest_port)
                    env["PROCGOV_REST_URL"] = f"http://127.0.0.1:{rest_port}"  # for `procgov tasks`
                background.append(
                    subprocess.Popen(argv, cwd=clone, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
                )
                _wait_gateway(port, background[-1], log)
            elif args[0] == "console":  # the web console, in front of the engine's REST port
                i, j = args.index("--rest-url"), args.index("--port")
                assert args[i + 1] == "http://127.0.0.1:8080", line
                argv[i + 2] = f"http://127.0.0.1:{rest_port}"
                argv[j + 2] = str(console_port := _free_port())
                background.append(
                    subprocess.Popen(argv, cwd=clone, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
                )
                _wait_http(f"http://127.0.0.1:{console_port}/static/console.css", background[-1], log)
                with urllib.request.urlopen(f"http://127.0.0.1:{console_port}/instances", timeout=30) as page:
                    assert page.status == 200, line
            elif args[0] == "workers":
                background.append(
                    subprocess.Popen(argv, cwd=clone, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
                )
                _wait_http(f"http://127.0.0.1:{health_port}/readyz", background[-1], log)
            elif args[0] == "guard":  # the user task guard: `tasks complete` below waits for its verdict
                guard_env = {**env, "PROCGOV_HEALTH_PORT": str(guard_port := _free_port())}
                background.append(
                    subprocess.Popen(argv, cwd=clone, env=guard_env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
                )
                _wait_http(f"http://127.0.0.1:{guard_port}/readyz", background[-1], log)
            else:
                produces = producers.get(tuple(args[:2]))
                deadline = time.monotonic() + 30
                while True:
                    result = subprocess.run(
                        argv, cwd=clone, env=env, capture_output=True, text=True, timeout=120, check=False
                    )
                    assert result.returncode == 0, f"{line}\nexit {result.returncode}\n{result.stdout}{result.stderr}"
                    if produces is None:
                        break
                    value = produces[1](result.stdout)
                    if value is not None:
                        keys[produces[0]] = value
                        break
                    assert time.monotonic() < deadline, f"{line} never printed {produces[0]}:\n{result.stdout}"
                    time.sleep(1)
            ran.append(line)
    finally:
        for process in reversed(background):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    for process in background:
        assert process.returncode == 0, f"a background command did not stop cleanly on SIGTERM: {process.args}"
    assert set(keys) == {"INSTANCE_KEY", "TASK_KEY", "INCIDENT_KEY"}
    assert any("start procgov-rollout" in line for line in ran) and any(" audit report " in line for line in ran)
    assert (clone / "report.html").is_file() and (clone / "records.jsonl").is_file()
