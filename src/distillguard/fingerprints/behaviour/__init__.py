"""Per-account behaviour fingerprint: volume, timing, structure, content mix, model pivot, infrastructure."""

from .features import COLUMNS, compute_account_features

__all__ = ["COLUMNS", "compute_account_features"]
