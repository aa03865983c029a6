"""Per-exchange and per-account fingerprints: what exchanges ask for, and where and how they are sent."""
