"""What every device kind shares however it is reached: the journal of outcomes, the clock
section of its map (register clock or command clock), and the rung a point has earned here."""

from __future__ import annotations

from solartui.errors import SolartuiError


class DeviceCommon:
    map: object
    journal: object
    identity: object

    def earned_rung(self, name: str, declared: str) -> str:
        """The rung `name` has earned on this model and firmware (what a write confirmation
        shows, as the live screen does); the declared one when the evidence cannot be read."""
        from solartui.trust.rungs import effective_rungs, model_and_firmware
        if self.identity is None:
            return declared
        model, firmware = model_and_firmware(self.identity)
        try:
            return effective_rungs(self.map, model, firmware).get(name, declared)
        except SolartuiError:
            return declared

    def _clock_spec(self):
        if self.map.clock is None:
            raise SolartuiError(f"map {self.map.id} describes no clock")
        return self.map.clock
