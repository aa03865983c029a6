"""Per-exchange and per-account fingerprints: content (capability) and network signals."""
