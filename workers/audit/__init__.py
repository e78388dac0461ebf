"""Audit: instance histories from Zeebe records, decision replay over the hash-chained decision log,
and the HTML audit report; plus the ``audit.file-history`` worker that files them per instance.

``build_router(deps)`` registers the audit job types; ``AuditDeps.from_settings`` reads where the
records are and where files go; ``DECISIONS`` is empty (audit checks decisions, it records none).
"""

from __future__ import annotations

from workers.audit.router import AuditDeps, AuditSettings, build_router

DECISIONS = ()

__all__ = ["DECISIONS", "AuditDeps", "AuditSettings", "build_router"]
