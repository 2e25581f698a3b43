"""Modbus links shared by physical channel: two devices on one RS485 bus share one scheduler.

A ModbusLink wraps the scheduler with the two operations the devices need (read and write
registers); the pool hands out one link per serial port or TCP endpoint.
"""

from __future__ import annotations

from solartui.links.modbus import ModbusTransport
from solartui.links.scheduler import PRIORITY_READ, PRIORITY_WRITE, LinkFront, LinkScheduler
from solartui.links.target import Target
from solartui.registers.model import LinkSpec
from solartui.registers.write_rules import check_read_count, check_write_count


class ModbusLink(LinkFront):
    def __init__(self, target: Target, spec: LinkSpec):
        self.target = target
        period_ms, timeout_ms = target.pacing_ms(spec.min_period_ms, spec.timeout_ms)
        self.timeout = timeout_ms / 1000
        self.transport = ModbusTransport(target, baud=spec.baudrates[0], parity=spec.parity,
                                         timeout=self.timeout)
        self.scheduler = LinkScheduler(self.transport, period_ms / 1000, self.timeout)

    async def read(self, function: int, unit: int, address: int, count: int,
                   priority: int = PRIORITY_READ) -> list[int]:
        check_read_count(count)                 # FC03/FC04: at most 125, never sent otherwise
        return await self.scheduler.submit(
            lambda t: t.read(function, unit, address, count, self.timeout), priority)

    async def write(self, function: int, unit: int, address: int, words: list[int],
                    priority: int = PRIORITY_WRITE, build=None) -> None:
        """`build` (async, returns the words to send) is awaited inside the transaction, after
        the pacing wait: a clock set takes its value at the moment the frame goes out."""
        if function == 16:
            check_write_count(len(words))       # FC16: at most 123, never sent otherwise
        async def run(t):
            sent = list(await build()) if build is not None else words
            await t.write(function, unit, address, sent, self.timeout)
        await self.scheduler.submit(run, priority)


class LinkPool:
    """Hands out one link per physical channel: a ModbusLink, a GivEnergyLink for a dongle, or a
    SolarmanLink for a Solarman V5 logger."""

    def __init__(self):
        self._links: dict[str, ModbusLink] = {}

    def get(self, target: Target, spec: LinkSpec) -> ModbusLink:
        link = self._links.get(target.link_key)
        if link is None:
            if target.scheme == "givenergy":
                from solartui.links.givenergy import GivEnergyLink
                link = GivEnergyLink(target, spec)
            elif target.scheme == "solarman":
                from solartui.links.solarman import SolarmanLink
                link = SolarmanLink(target, spec)
            else:
                link = ModbusLink(target, spec)
            self._links[target.link_key] = link
        return link

    def links(self) -> list:
        return list(self._links.values())

    async def release(self, link) -> None:
        """Close one link and forget it (a device that used it has gone)."""
        for key, held in list(self._links.items()):
            if held is link:
                del self._links[key]
                await link.close()

    async def close(self) -> None:
        # a copy: a device's release() may forget its link while this awaits another's close
        for link in list(self._links.values()):
            await link.close()
        self._links.clear()
