"""MQTT sink: readings leave the machine for Home Assistant, Node-RED and InfluxDB.

A sink beside the CSV files (DESIGN.md): it consumes what `serve` and `log` produce and never slows
a link or a datalogger's acks — it has a bounded queue of its own. Writes that arrive from Home
Assistant go through the one write gate (`devices/gate.py`) with origin "mqtt".

Modules: `model` (what is published), `topics` (where), `discovery` (Home Assistant's retained
config messages), `commands` (settings from Home Assistant), plus the connection/queue code.
"""
