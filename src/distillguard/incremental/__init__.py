"""Incremental scans: process only new logs and update campaigns without recomputing all history.

`update(ws)` brings a workspace up to date with the exchanges ingested since its last update;
`scan_incremental` adds ingesting only new files (or new warehouse rows) and writing the output;
`watch` repeats that on a schedule. docs/warehouse-and-incremental.md says what is recomputed.
"""

from .run import IncrementalResult, parse_every, scan_incremental, watch
from .update import UpdateReport, update

__all__ = ["IncrementalResult", "UpdateReport", "parse_every", "scan_incremental", "update", "watch"]
