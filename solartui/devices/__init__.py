"""Devices: a driver is a map plus a link; identify, poll, write, clock."""
