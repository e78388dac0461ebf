"""Signed checkpoints: the heads of the decision chain and the engine's log, kept outside both databases.

A hash chain proves that nothing changed *unless whoever changed it re-hashed it*: an attacker with write
access to the database can rewrite every later hash and the head row too. A checkpoint is a small JSON
file naming the chain head (seq and hash) and, per process instance, how many records it had and a
digest of them, signed with HMAC-SHA256 under a key that lives in the settings or a key file, never in
a database. ``procgov audit checkpoint`` writes one; ``procgov audit replay`` verifies each signature and
checks the store against each checkpoint: the head it names must still be in the chain with that hash,
and every instance it lists must still start with the records it counted (stores only grow).

Keys and rotation: a key ring is one ``KEY_ID:SECRET`` entry per line (or ``;``-separated in
``PROCGOV_AUDIT_KEY``). The *last* entry signs; every entry verifies, so rotating is "append a new line,
keep the old ones until the checkpoints they signed are archived". A checkpoint names its key id; one
signed by an id the ring does not hold is a finding, not a pass.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workers.runtime.stores.decisions import HASHED_FIELDS, DecisionRecord, canonical_json

FORMAT = "procgov-checkpoint/1"
DECISIONS = "decisions"  # the decision chain (workers/runtime/stores/decisions.py)
ENGINE_LOG = "engine-log"  # the engine's record chain (records.db ``record_chain``)

#: Fields of a decision record its instance digest covers: all hashed ones but ``seq``, so deleting
#: another instance's records and renumbering the chain leaves this instance's digest unchanged.
INSTANCE_FIELDS = tuple(name for name in HASHED_FIELDS if name != "seq")


class AuditKeyError(ValueError):
    """The key ring cannot be read or is empty (names the source, never the secret)."""


@dataclass(frozen=True)
class Keyring:
    """HMAC-SHA256 keys by id; the last one signs."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, text: str, *, source: str) -> Keyring:
        entries: list[tuple[str, bytes]] = []
        for number, raw in enumerate(text.replace(";", "\n").splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key_id, sep, secret = line.partition(":")
            if not sep or not key_id.strip() or len(secret.strip()) < 16:
                raise AuditKeyError(f"{source} entry {number}: expected KEY_ID:SECRET with a secret of 16+ characters")
            entries.append((key_id.strip(), secret.strip().encode("utf-8")))
        if not entries:
            raise AuditKeyError(f"{source} holds no key (one KEY_ID:SECRET per line)")
        ids = [key_id for key_id, _ in entries]
        if len(set(ids)) != len(ids):
            raise AuditKeyError(f"{source}: a key id appears twice")
        return cls(tuple(entries))

    @classmethod
    def load(cls, *, key: str | None = None, key_file: str | Path | None = None) -> Keyring:
        """From ``PROCGOV_AUDIT_KEY`` text or ``PROCGOV_AUDIT_KEY_FILE`` (the file wins when both are set)."""
        if key_file:
            path = Path(key_file)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as error:
                raise AuditKeyError(f"cannot read the audit key file {path}: {error.strerror}") from error
            return cls.parse(text, source=f"audit key file {path}")
        if key:
            return cls.parse(key, source="PROCGOV_AUDIT_KEY")
        raise AuditKeyError("no audit key: set PROCGOV_AUDIT_KEY_FILE (or PROCGOV_AUDIT_KEY), or pass --key-file")

    @property
    def signing_id(self) -> str:
        return self.keys[-1][0]

    def _mac(self, key_id: str, payload: Mapping[str, Any]) -> str | None:
        secret = dict(self.keys).get(key_id)
        if secret is None:
            return None
        return hmac.new(secret, canonical_json(dict(payload)).encode("utf-8"), hashlib.sha256).hexdigest()

    def sign(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        signed = {**payload, "keyId": self.signing_id}
        return {**signed, "signature": self._mac(self.signing_id, signed)}

    def verify(self, document: Mapping[str, Any]) -> str | None:
        """``None`` when the signature holds, else why not."""
        body = {k: v for k, v in document.items() if k != "signature"}
        key_id = str(body.get("keyId", ""))
        expected = self._mac(key_id, body)
        if expected is None:
            return f"signed with key id {key_id!r}, which the key ring does not hold"
        if not hmac.compare_digest(expected, str(document.get("signature", ""))):
            return "its signature does not match its content (the file was edited, or signed with another key)"
        return None


def new_key_entry(existing: Keyring | None = None) -> str:
    """A fresh ``KEY_ID:SECRET`` line: 256 random bits, an id not in ``existing`` (for rotation, the new
    line is appended, so it signs while the older ones still verify)."""
    import secrets

    taken = {key_id for key_id, _ in existing.keys} if existing else set()
    number = len(taken) + 1
    while f"k{number}" in taken:
        number += 1
    return f"k{number}:{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class InstanceSummary:
    records: int
    digest: str


def decision_instance_summaries(records: Iterable[DecisionRecord]) -> dict[int, InstanceSummary]:
    """Per instance: record count and sha256 over the canonical JSON of its records (``INSTANCE_FIELDS``)
    in chain order."""
    digests: dict[int, Any] = {}
    counts: dict[int, int] = {}
    for record in records:
        digest = digests.get(record.process_instance_key)
        if digest is None:
            digest = digests[record.process_instance_key] = hashlib.sha256()
        digest.update(canonical_json({name: getattr(record, name) for name in INSTANCE_FIELDS}).encode("utf-8"))
        digest.update(b"\n")
        counts[record.process_instance_key] = counts.get(record.process_instance_key, 0) + 1
    return {key: InstanceSummary(counts[key], digests[key].hexdigest()) for key in digests}


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    store: str
    created_at: str
    head: Mapping[str, Any]  # {"seq", "hash"} (+ "position" for the engine log)
    instances: Mapping[int, InstanceSummary] = field(default_factory=dict)


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def write_checkpoint(
    directory: str | Path,
    keyring: Keyring,
    *,
    store: str,
    source: str,
    head: Mapping[str, Any],
    instances: Mapping[int, InstanceSummary],
) -> Path:
    """Sign and write one checkpoint file; never overwrites one (names carry time and head seq)."""
    created_at = now_text()
    document = keyring.sign({
        "format": FORMAT,
        "store": store,
        "source": source,
        "createdAt": created_at,
        "head": dict(head),
        "instances": {str(k): {"records": s.records, "digest": s.digest} for k, s in sorted(instances.items())},
    })
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = created_at.replace(":", "").replace("-", "").replace(".", "")
    path = folder / f"{store}-{stamp}-{int(head.get('seq', 0)):012d}.json"
    with path.open("x", encoding="utf-8") as out:  # "x": a name clash fails instead of overwriting
        out.write(json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1) + "\n")
    return path


def read_checkpoints(directory: str | Path, keyring: Keyring) -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint in ``directory`` whose signature holds, oldest first, and a problem per file that
    does not (unreadable, unsigned, edited, unknown key id)."""
    checkpoints: list[Checkpoint] = []
    problems: list[str] = []
    folder = Path(directory)
    if not folder.is_dir():
        return [], []
    for path in sorted(folder.glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(document, dict) or document.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} document")
            why = keyring.verify(document)
            if why is not None:
                problems.append(f"checkpoint {path.name}: {why}")
                continue
            instances = {int(k): InstanceSummary(int(v["records"]), str(v["digest"]))
                         for k, v in dict(document["instances"]).items()}
            checkpoints.append(Checkpoint(path, str(document["store"]), str(document["createdAt"]),
                                          dict(document["head"]), instances))
        except (OSError, ValueError, KeyError, TypeError) as error:
            problems.append(f"checkpoint {path.name} cannot be read: {error}")
    checkpoints.sort(key=lambda c: (c.created_at, int(c.head.get("seq", 0))))
    return checkpoints, problems
