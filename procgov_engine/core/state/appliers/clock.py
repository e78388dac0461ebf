"""CLOCK: the pinned engine clock (``PINNED``, ``RESETTED``)."""

from __future__ import annotations

from typing import Any

from procgov_engine.core.state.appliers.base import Appliers, AppliersTable


class ClockAppliers(Appliers):
    def appliers(self) -> AppliersTable:
        return {
            ("CLOCK", "PINNED"): self._clock_pinned,
            ("CLOCK", "RESETTED"): self._clock_resetted,
        }

    # -- CLOCK -----------------------------------------------------------------------------------
    def _clock_pinned(self, key: int, value: dict[str, Any]) -> None:
        self.state.clock_pin = value["time"]

    def _clock_resetted(self, key: int, value: dict[str, Any]) -> None:
        self.state.clock_pin = -1
