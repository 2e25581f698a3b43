"""`solartui dump`: every readable register of a device, raw and decoded, to CSV or JSON —
the snapshot to attach when something is wrong. No Textual here."""
