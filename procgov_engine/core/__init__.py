"""The engine core: command processing, runtime state, the durable record log and its queries.

``Engine`` implements :class:`procgov_engine.api.EngineApi`; see engine/core/STATUS.md for what runs.
"""

from procgov_engine.core.engine import Engine

__all__ = ["Engine"]
