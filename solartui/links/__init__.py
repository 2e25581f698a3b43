"""Links: one paced scheduler per physical channel; transports that speak the wire."""
