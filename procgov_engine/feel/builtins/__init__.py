"""FEEL's built-in functions, grouped as the DMN specification and Camunda's docs group them.

Importing this package registers every function in :data:`procgov_engine.feel.functions.BUILTINS`.
"""

from __future__ import annotations

from procgov_engine.feel.builtins import (  # noqa: F401 - imported for their registrations
    boolean,
    contexts,
    conversion,
    lists,
    numbers,
    ranges,
    strings,
    temporal,
)
