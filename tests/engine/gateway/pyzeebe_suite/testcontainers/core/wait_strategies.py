"""Stand-in for testcontainers' wait strategy: the engine is ready once its gRPC port answers."""

from __future__ import annotations

from typing import Any


class LogMessageWaitStrategy:
    def __init__(self, *_: Any, **__: Any) -> None:
        pass

    def with_startup_timeout(self, *_: Any) -> LogMessageWaitStrategy:
        return self
