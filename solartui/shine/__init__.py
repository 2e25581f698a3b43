"""The Growatt datalogger ("Shine") side: frame codec, record layouts, the server that
dataloggers connect to, and its grottserver-compatible HTTP API. No Textual here."""
