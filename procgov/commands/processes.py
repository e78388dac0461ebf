"""``procgov processes``: the process registry (流程清单) in the workers' store.

* ``list``: every governed process with tier, owner, current version, lifecycle state, running rollout;
* ``show ID``: one entry; ``history ID``: its versions, registry events (publications, refusals,
  rollouts, re-appointments) and its optimisation log (seed 002 template 4);
* ``register --from FILE.yaml``: add the processes of a seed file (idempotent);
* ``reappoint ID --owner PERSON --reason TEXT --by PERSON``: the one way an owner changes (000A step 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from procgov.commands.workers import fail

app = typer.Typer(name="processes", help="The process registry (流程清单).", no_args_is_help=True)
EXIT_USAGE = 2
EXIT_REFUSED = 1

StoreOption = Annotated[
    str | None, typer.Option("--store", help="Store URL (default: PROCGOV_STORE_URL, else sqlite:///var/procgov.db).")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    fail(message, code)


def _registry(store: str | None) -> Any:
    from workers.runtime.settings import SettingsError, load_settings
    from workers.runtime.stores import open_engine
    from workers.runtime.stores.registry import ProcessRegistry

    if not store:
        try:
            store = load_settings().store_url
        except SettingsError as error:
            _fail(str(error))
    return ProcessRegistry(open_engine(store))


def _entry_or_fail(registry: Any, process_id: str) -> Any:
    entry = registry.get(process_id)
    if entry is None:
        _fail(f"{process_id} is not in the registry (procgov processes list shows what is)")
    return entry


def _line(entry: Any) -> str:
    rollout = f", rollout {entry.rollout_instance} running" if entry.rollout_instance else ""
    return (f"{entry.process_id}  {entry.name}  tier {entry.tier or 'unclassified'}  owner {entry.owner or '-'}  "
            f"{entry.current_version}  {entry.state}{rollout}")


@app.command("list")
def list_processes(store: StoreOption = None, as_json: JsonFlag = False) -> None:
    """Every governed process."""
    from dataclasses import asdict

    entries = _registry(store).entries()
    if as_json:
        typer.echo(json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=1))
        return
    if not entries:
        typer.echo("the registry is empty (procgov processes register --from data/registry/processes.yaml)")
    for entry in entries:
        typer.echo(_line(entry))


@app.command()
def show(process_id: Annotated[str, typer.Argument(help="Process id.")], store: StoreOption = None,
         as_json: JsonFlag = False) -> None:
    """One process's entry."""
    from dataclasses import asdict

    entry = _entry_or_fail(_registry(store), process_id)
    typer.echo(json.dumps(asdict(entry), ensure_ascii=False, indent=1) if as_json else _line(entry))


@app.command()
def history(process_id: Annotated[str, typer.Argument(help="Process id.")], store: StoreOption = None,
            as_json: JsonFlag = False) -> None:
    """Versions, registry events and the optimisation log (seed 002 template 4) of one process."""
    registry = _registry(store)
    _entry_or_fail(registry, process_id)
    versions, events = registry.versions(process_id), registry.events(process_id)
    optimisation = _optimisation_log(registry.engine, process_id)
    if as_json:
        typer.echo(json.dumps({"versions": versions, "events": events, "optimisationLog": optimisation},
                              ensure_ascii=False, indent=1, default=str))
        return
    typer.echo("versions:")
    for v in versions:
        origin = f"change request {v['change_request']}" if v["change_request"] else "registered"
        typer.echo(f"  {v['version']}  from {v['previous_version'] or '-'}  {v['published_on'] or '-'}  {origin}")
    typer.echo("events:")
    for e in events:
        typer.echo(f"  {e['at']}  {e['kind']}  {e['instance'] or '-'}  {json.dumps(e['detail'], ensure_ascii=False)}")
    typer.echo("optimisation log:")
    for row in optimisation:
        typer.echo(f"  {row['logged_on']}  {row['background']} → {row['measures']}  effect: {row['effect']}  "
                   f"owner {row['owner']}  ({row['remarks']})")


def _optimisation_log(engine: Any, process_id: str) -> list[dict[str, Any]]:
    from workers.slm.store import SlmStore, StoreNotMigratedError

    try:
        return SlmStore(engine).optimisation_entries(process_id)
    except StoreNotMigratedError:
        return []


@app.command()
def register(
    source: Annotated[Path, typer.Option("--from", help="Seed YAML (processes: [...]).")],
    store: StoreOption = None,
) -> None:
    """Add the processes of a seed file; entries already registered are left unchanged."""
    import yaml

    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        _fail(f"cannot read {source}: {error}")
    registry = _registry(store)
    for number, item in enumerate(document.get("processes") or [], start=1):
        try:
            entry = registry.register(
                str(item["processId"]), name=str(item["name"]), version=str(item["currentVersion"]),
                tier=item.get("tier"), owner=item.get("owner"), department=item.get("department"),
                state=str(item.get("state", "in force")), note=f"registered from {source.name}")
        except (KeyError, ValueError) as error:
            _fail(f"{source} process {number}: {error}")
        typer.echo(_line(entry))


@app.command()
def reappoint(
    process_id: Annotated[str, typer.Argument(help="Process id.")],
    owner: Annotated[str, typer.Option("--owner", help="The new owner (person id).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")],
    by: Annotated[str, typer.Option("--by", help="Who decided it (recorded).")],
    store: StoreOption = None,
) -> None:
    """Re-appoint the owner: recorded with the previous owner, the reason and who decided (000A step 1)."""
    from workers.runtime.stores.registry import RegistryConflict

    try:
        entry = _registry(store).reappoint_owner(process_id, owner=owner, reason=reason, by=by)
    except RegistryConflict as error:
        _fail(str(error), EXIT_REFUSED)
    typer.echo(_line(entry))
