"""Per-exchange content fingerprints: what an exchange asks for (its capability area)."""
