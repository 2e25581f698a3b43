"""What every device kind shares however it is reached: the journal of outcomes and the clock
section of its map (register clock or command clock)."""

from __future__ import annotations

from solartui.devices.writes import WriteOutcome
from solartui.errors import SolartuiError


class DeviceCommon:
    map: object
    journal: object

    def _journal(self, outcome: WriteOutcome) -> None:
        """Every write and clock outcome, from any screen or command, ends here."""
        if self.journal is not None:
            self.journal.append(outcome.journal_entry())

    def _clock_spec(self):
        if self.map.clock is None:
            raise SolartuiError(f"map {self.map.id} describes no clock")
        return self.map.clock
