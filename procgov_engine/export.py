"""``procgov engine export``: the record log as the Elasticsearch exporter's documents.

Zeebe's Elasticsearch exporter indexes each record as its JSON document (the exporter shape of
docs/contracts.md "Records"). This writes those documents one per line (JSON Lines), in log order,
without index names, so audit tools can read an embedded engine's history exactly as they would read
documents pulled from Elasticsearch. The log is opened read-only; a running engine is not disturbed.
Every line is strict JSON (RFC 8259, UTF-8), also for records of logs older than the engine's input
checks (engine/strict_json.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from procgov_engine import strict_json


def export_jsonl(data_dir: Path, out_path: Path) -> int:
    """Write every record of ``data_dir/records.db`` to ``out_path``; returns the number of records."""
    db_path = Path(data_dir) / "records.db"
    if not db_path.is_file():
        raise FileNotFoundError(f"no engine record log at {db_path} (is --data the engine's data directory?)")
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    count = 0
    try:
        with Path(out_path).open("w", encoding="utf-8") as out:
            for (document,) in db.execute("SELECT json FROM records ORDER BY position"):
                # Logs written before the engine refused NaN and lone surrogates may hold them.
                out.write(document if strict_json.is_strict(document) else strict_json.repair(document))
                out.write("\n")
                count += 1
    finally:
        db.close()
    return count
