"""Logging a site: a YAML file naming devices and points, polled on a period into CSV files.

Headless like the rest of the core: `solartui log` and `solartui simulate --site` use it, the
TUI does not need it. site_file loads and validates the file, logger runs the passes through the
same devices and link schedulers as every other command, csv_sink writes the rows, log_state
remembers the last pass (gaps) and error_log says what went wrong, once per change.
"""
