"""Ingest stage: read logs, validate against the contract, quarantine, de-duplicate."""

from .pipeline import IngestReport, ingest
from .readers import InputError

__all__ = ["IngestReport", "InputError", "ingest"]
