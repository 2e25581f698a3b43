"""Commissioning checks an installer signs off (identity, clock, CT direction, export limit,
battery, settings): one module per check, each returning a Verdict. No Textual here."""
