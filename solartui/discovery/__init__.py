"""Discovery: find devices on serial ports, USB and the local network, and identify them."""
