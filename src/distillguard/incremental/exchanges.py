"""Per-exchange work of an update: signals and scores for the rows that need them, appended in place.

The full stages replace their tables; these functions run the same signal and scoring code over a
chosen set of rows (a table of `request_id`s or `account_id`s) and replace only those rows. The id
tables are ordinary tables, not TEMP: batches are read through a cursor of their own.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pyarrow as pa

from ..fingerprints.content.signals import SIGNALS
from ..fingerprints.content.signals.base import BATCH_ROWS, TABLE as SIGNAL_TABLE, batch_query, score_batch
from ..parallel import usable_cores
from ..scoring.score import load_model, score_level
from ..workspace import Workspace
from .state import NEXT


# Loaded once per process: `watch` updates every few minutes and a model load costs more than
# scoring a slice.
_model = functools.lru_cache(maxsize=None)(load_model)


def _signal_batches(ws: Workspace, signals: list, ids: str) -> Iterator[pa.Table]:
    query = f"SELECT * FROM ({batch_query(signals)}) WHERE request_id IN (SELECT request_id FROM {ids})"
    workers = usable_cores()
    with ThreadPoolExecutor(workers) as pool:
        for batch in ws.backend.iter_batches(query, rows=BATCH_ROWS):
            yield score_batch(pa.Table.from_batches([batch]), signals, pool, workers)


def update_signals(ws: Workspace, new: str, changed: str) -> None:
    """Score the exchanges in table `new` on every signal, and rescore older exchanges on each
    population signal whose per-model statistics moved; ids whose values changed go into `changed`.

    Population statistics are computed over the whole log, as `compute_signals` does, so an
    exchange scores the same as in a full scan of the same data.
    """
    db = ws.backend
    db.execute(f"CREATE TABLE IF NOT EXISTS {SIGNAL_TABLE} (request_id VARCHAR"
               + "".join(f", {s.name} DOUBLE" for s in SIGNALS) + ")")
    population = [s for s in SIGNALS if s.population]
    for s in population:
        db.execute(f"CREATE OR REPLACE TABLE _signal_pop_{s.name} AS {s.population}")
    try:
        db.execute(f"DELETE FROM {SIGNAL_TABLE} WHERE request_id IN (SELECT request_id FROM {new})")
        for scored in _signal_batches(ws, SIGNALS, new):
            db.register_arrow("_inc_sig", scored)
            db.execute(f"INSERT INTO {SIGNAL_TABLE} SELECT * FROM _inc_sig")
            db.unregister("_inc_sig")
        for s in population:
            _rescore_population(ws, s, new, changed)
    finally:
        for s in population:
            db.execute(f"DROP TABLE IF EXISTS _signal_pop_{s.name}")


def _rescore_population(ws: Workspace, signal, new: str, changed: str) -> None:
    db, name, pop = ws.backend, signal.name, f"_signal_pop_{signal.name}"
    stored = f"inc_pop_{name}"
    if db.table_exists(stored):
        # Models whose statistics moved (EXCEPT compares NULLs as equal); their older rows are rescored.
        db.execute(f"""CREATE OR REPLACE TABLE inc_rows AS
            SELECT e.request_id FROM exchanges e
            WHERE e.request_id NOT IN (SELECT request_id FROM {new}) AND EXISTS (
              SELECT * FROM (SELECT * FROM {pop} EXCEPT SELECT * FROM {stored}) m
              WHERE m.model IS NOT DISTINCT FROM e.model)""")
        for scored in _signal_batches(ws, [signal], "inc_rows"):
            db.register_arrow("_inc_sig", scored)
            db.execute(f"""INSERT INTO {changed} SELECT b.request_id FROM _inc_sig b
                           JOIN {SIGNAL_TABLE} s USING (request_id) WHERE s.{name} IS DISTINCT FROM b.{name}""")
            db.execute(f"""UPDATE {SIGNAL_TABLE} SET {name} = b.{name} FROM _inc_sig b
                           WHERE {SIGNAL_TABLE}.request_id = b.request_id""")
            db.unregister("_inc_sig")
        db.execute("DROP TABLE inc_rows")
    db.execute(f"CREATE OR REPLACE TABLE {stored}{NEXT} AS SELECT * FROM {pop}")


def score_rows(ws: Workspace, level: str, ids: str) -> int:
    """Score the exchanges (or accounts) listed in table `ids`, replacing their rows; as `score_level`."""
    return score_level(ws, level, model=_model(level), only=ids)
