"""Snapshots of the engine state, so that opening a data directory folds only the events after one.

Without them, every start applies every event of the log again (about 80k events/s), so start-up time
grows with the engine's age. Like Zeebe, the engine now and then writes its state to
``DATA_DIR/snapshot.bin``: the state after the record at position P. Opening restores it and applies the
events after P through the event appliers (engine/core/state/appliers/). The log stays complete: a
snapshot is a shortcut, never the only copy. One that is missing, damaged, written by different
state-layer code (see :data:`CODE_FINGERPRINT`) or ahead of the log is ignored and the whole log folded,
which gives the same state.

What goes in: the runtime part of the explicit :class:`procgov_engine.core.state.EngineState` (element
instances, variables, jobs, timers, messages, subscriptions, incidents; ``EngineState.runtime``) and the
writer's position and key counter, nothing else (no behaviour, no closure: an incident's retry is a
named :class:`procgov_engine.core.state.RetryStep`, so snapshots are written with incidents open). What does
not: deployments. Their parsed models hold compiled FEEL, so they are rebuilt by folding the deployment
events (PROCESS, DECISION_REQUIREMENTS, DECISION, FORM, DEPLOYMENT) up to P, and runtime objects refer to
them by identity (process key, element or flow id) through pickle's persistent ids.

A snapshot is written only once every command it contains is committed: the engine hands the bytes to
the commit thread behind the batch holding its last command (engine/core/commit.py), and on close
after the final commit.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from procgov_engine.core.state import EngineState

SNAPSHOT_FILE = "snapshot.bin"
SNAPSHOT_EVERY_COMMANDS = 100_000
"""Default: a snapshot after this many commands since the last one (and one on close); 0 turns them off."""

_MAGIC = b"procgov-engine-snapshot/2\n"


def _code_fingerprint() -> str:
    """The state layer's source (its classes, the appliers), this module and the Python version: a
    snapshot is restored only by the state code that wrote it. Processing code may differ: a snapshot is
    the fold of events that happened, which new processors cannot change (so an upgrade that leaves the
    state layer alone still starts from its snapshot)."""
    digest = hashlib.sha256(f"{sys.version_info[:2]}".encode())
    root = Path(__file__).resolve().parent
    for path in [*sorted((root / "state").rglob("*.py")), Path(__file__).resolve()]:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


CODE_FINGERPRINT = _code_fingerprint()


class SnapshotError(Exception):
    """The snapshot cannot be restored; the caller folds the whole log instead."""


@dataclass(frozen=True)
class Snapshot:
    """A snapshot file's header and its still-unpickled state."""

    commands: int  # how many commands of the log (in ``seq`` order) the state contains
    last_command: tuple[int, int]  # (position, timestamp) of the last of them: ties it to its log
    position: int  # the record writer's position after them
    key_counter: int
    payload: bytes

    def restore(self, state: EngineState) -> None:
        """Put the runtime state into ``state``, whose deployments must already be rebuilt."""
        objects = _identities(state)

        class Unpickler(pickle.Unpickler):
            def persistent_load(self, pid: Any) -> Any:
                try:
                    return objects[tuple(pid)]
                except KeyError:
                    raise SnapshotError(f"the snapshot refers to {pid!r}, which no deployment defines") from None

        try:
            runtime = Unpickler(io.BytesIO(self.payload)).load()
            state.restore_runtime(dict(runtime))
        except SnapshotError:
            raise
        except Exception as exc:
            raise SnapshotError(f"the snapshot's state cannot be read: {type(exc).__name__}: {exc}") from exc


def _identities(state: EngineState) -> dict[tuple[Any, ...], Any]:
    """Persistent id → deployment object, for every process, element and sequence flow deployed."""
    objects: dict[tuple[Any, ...], Any] = {}
    for process in state.processes_by_key.values():
        objects[("process", process.key)] = process
        model = process.model
        objects[("element", process.key, model.root.id)] = model.root
        for element_id, element in model.elements.items():
            objects[("element", process.key, element_id)] = element
        for flow_id, flow in model.flows.items():
            objects[("flow", process.key, flow_id)] = flow
    return objects


def dumps(state: EngineState, commands: int, last_command: tuple[int, int], position: int, key_counter: int) -> bytes:
    """The snapshot file's bytes for the engine state after the log's first ``commands`` commands,
    the last of which has ``last_command`` = (position, timestamp)."""
    ids = {id(obj): pid for pid, obj in _identities(state).items()}

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj: Any) -> Any:
            return ids.get(id(obj))

    body = io.BytesIO()
    Pickler(body, protocol=pickle.HIGHEST_PROTOCOL).dump(state.runtime())
    header = f"{CODE_FINGERPRINT} {commands} {last_command[0]} {last_command[1]} {position} {key_counter}\n".encode()
    return _MAGIC + header + body.getvalue()


def write(data_dir: Path, data: bytes) -> None:
    """Replace the snapshot atomically: a crash leaves the old one or the new one, never half of one."""
    target = data_dir / SNAPSHOT_FILE
    temporary = target.with_suffix(".tmp")
    with temporary.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, target)
    directory = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read(data_dir: Path) -> Snapshot | None:
    """The snapshot in ``data_dir`` if there is one this code may restore, else None (with the reason
    in SnapshotError for a damaged file)."""
    target = data_dir / SNAPSHOT_FILE
    try:
        data = target.read_bytes()
    except FileNotFoundError:
        return None
    if not data.startswith(_MAGIC):
        raise SnapshotError(f"{target} is not an engine snapshot")
    header_end = data.find(b"\n", len(_MAGIC))
    try:
        fingerprint, *numbers = data[len(_MAGIC) : header_end].decode().split(" ")
        commands, command_position, command_timestamp, position, key_counter = (int(n) for n in numbers)
        snapshot = Snapshot(
            commands, (command_position, command_timestamp), position, key_counter, data[header_end + 1 :]
        )
    except ValueError as exc:
        raise SnapshotError(f"{target} has a damaged header") from exc
    if fingerprint != CODE_FINGERPRINT:
        return None  # other state-layer code wrote it: fold the whole log
    return snapshot
