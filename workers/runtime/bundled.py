"""Where the project's sample data (``data/``) and process models (``bpmn/``) are, checkout or wheel.

In a checkout (and an editable install) they sit beside the packages. A wheel cannot install
directories there without claiming generic top-level names in site-packages, so the procgov-workers
wheel carries them as ``workers/_bundled/data`` and ``workers/_bundled/bpmn``
(packages/procgov-workers/pyproject.toml); :func:`bundled` finds either, so ``pip install .`` then
``procgov demo`` works.
"""

from __future__ import annotations

from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]
_WHEEL = Path(__file__).resolve().parents[1] / "_bundled"


def bundled(*parts: str) -> Path:
    """``data/...`` or ``bpmn/...`` of the checkout if there is one, else the copy inside the wheel."""
    source = _CHECKOUT.joinpath(*parts)
    if source.exists():
        return source
    return _WHEEL.joinpath(*parts)
