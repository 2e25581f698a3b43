"""The commissioning report: identity, link, clock, the session's writes, trust and a snapshot of
every mapped value, written as Markdown and as a self-contained HTML page."""
