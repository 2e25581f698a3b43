"""Tests send confirmed plans through the one write gate, as every door does (it journals)."""

from solartui.devices import gate


async def write_one(device, plan, origin: str = "cli"):
    return (await gate.execute(device, [plan], origin))[0]


async def run_action(device, plans, origin: str = "cli"):
    return await gate.execute(device, plans, origin)
