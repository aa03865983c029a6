"""Per-exchange content fingerprints: capability area, harvesting signals, template families."""
