"""The headless command line: the same core the TUI uses, for scripts, cron and systemd."""
