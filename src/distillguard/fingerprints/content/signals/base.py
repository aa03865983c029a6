"""Signal base classes, the registry and `compute_signals`.

A signal scores one exchange from 0 (no sign of harvesting) to 1 (as clear as one exchange can be).
It names the inputs it reads as SQL over an `exchanges` row `e` (plain columns, or derived text
views such as ZONE), and scores a batch of them, vectorised with pyarrow and numpy. A signal that
needs population context (a model's observed output ceiling, say) gives a query keyed by model,
computed once over the whole table and joined to every row. Regexes are features inside a signal,
never a verdict on their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ....parallel import usable_cores
from ....workspace import Workspace

TABLE = "exchange_signals"
FLAG_AT = 0.5  # strength counted as "raised" in the counts compute_signals returns
BATCH_ROWS = 50_000  # rows fetched and scored at once: bounds memory (BODY is up to 16k chars a row)
ZONE_CHARS = 1000  # characters read at each end of a message for instructions
BODY_CHARS = 16_000  # characters of the last user turn read for the layout of a whole prompt

ProgressFn = Callable[[int, int], None]


def _head_tail(column: str, n: int = ZONE_CHARS) -> str:
    return (f"CASE WHEN strlen(coalesce({column}, '')) <= {4 * n} THEN coalesce({column}, '') "
            f"ELSE left({column}, {n}) || chr(10) || right({column}, {n}) END")


# Text views shared by the content signals.
#   ZONE: where instructions sit, the head and tail of the system prompt and of the last user turn
#         (pasted material in the middle of a long prompt is not an instruction to the model);
#   BODY: the last user turn's first BODY_CHARS, for structure that spans the prompt (candidate
#         answers laid out for grading).
ZONE = f"{_head_tail('e.system_prompt')} || chr(10) || {_head_tail('e.last_user_message')}"
# (Each CASE spares the character-counting left/right, and the copy, for the many short turns.)
BODY = (f"CASE WHEN strlen(e.last_user_message) <= {BODY_CHARS} THEN e.last_user_message "
        f"ELSE left(e.last_user_message, {BODY_CHARS}) END")

USER_TAIL = "right(e.last_user_message, 120)"  # where a prompt that the model is to continue ends


def exchange_columns(*names: str) -> dict[str, str]:
    return {name: f"e.{name}" for name in names}


def values(batch: pa.Table, name: str, missing: float = np.nan) -> np.ndarray:
    """A numeric or boolean input as float64, NULL as `missing`."""
    return pc.fill_null(pc.cast(batch.column(name), pa.float64()), missing).to_numpy()


def noisy_or(*parts: np.ndarray) -> np.ndarray:
    """1 - prod(1 - p): independent cues, each able to raise the strength, together never past 1."""
    keep = np.ones(len(parts[0]))
    for p in parts:
        keep *= 1 - np.clip(np.nan_to_num(p), 0, 1)
    return 1 - keep


class Signal:
    """One per-exchange harvesting signal: a strength in [0, 1] under `name`, explained by `reason_code`."""

    name: ClassVar[str]
    reason_code: ClassVar[str]
    description: ClassVar[str]
    level: ClassVar[str] = "exchange"
    # Input name -> SQL over the exchanges row `e` or over `population` columns.
    inputs: ClassVar[dict[str, str]]
    # Optional `SELECT model, <stats> FROM exchanges GROUP BY model`; its columns join each row.
    population: ClassVar[str | None] = None

    def score(self, batch: pa.Table) -> np.ndarray:
        """Strength per row of `batch` (a table of `inputs`), NaN counting as 0."""
        raise NotImplementedError


@dataclass(frozen=True)
class Cue:
    """One feature of a text signal: a case-insensitive RE2 regex over a text input, worth `weight`.

    With `min_count` above 1 the cue holds only when the pattern matches that many times.
    """

    name: str
    weight: float
    pattern: str
    column: str = "zone"
    min_count: int = 1

    def hits(self, text: pa.ChunkedArray | pa.Array) -> np.ndarray:
        if self.min_count > 1:
            found = pc.greater_equal(pc.count_substring_regex(text, self.pattern, ignore_case=True), self.min_count)
        else:
            found = pc.match_substring_regex(text, self.pattern, ignore_case=True)
        return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


class CueSignal(Signal):
    """Strength = sum of the weights of the cues that match, capped at 1."""

    cues: ClassVar[tuple[Cue, ...]]
    inputs = {"zone": ZONE}

    def __init__(self):
        self._columns: dict[str, list[Cue]] = {}
        for cue in self.cues:
            self._columns.setdefault(cue.column, []).append(cue)
        # One pass of all of a column's cues at once finds the few rows where any can match.
        self._gates = {column: Cue("any", 0, "|".join(f"(?:{c.pattern})" for c in cues), column)
                       for column, cues in self._columns.items() if len(cues) > 1}

    def score(self, batch: pa.Table) -> np.ndarray:
        total = np.zeros(batch.num_rows)
        for column, cues in self._columns.items():
            text, rows = batch.column(column), slice(None)
            if column in self._gates:
                gate = self._gates[column].hits(text)
                text, rows = pc.filter(text, gate), np.flatnonzero(gate)
            for cue in cues:
                total[rows] += cue.weight * cue.hits(text)
        return total


SIGNALS: list[Signal] = []


def register(cls: type[Signal]) -> type[Signal]:
    """Class decorator adding one instance of a signal to SIGNALS; names become column names."""
    if not cls.name.isidentifier() or any(s.name == cls.name for s in SIGNALS):
        raise ValueError(f"signal name {cls.name!r} is not a fresh identifier")
    SIGNALS.append(cls())
    return cls


def batch_query(signals: Iterable[Signal]) -> str:
    """SELECT request_id and every input the signals read, for every exchange."""
    signals = list(signals)
    inputs: dict[str, str] = {}
    for s in signals:
        for name, sql in s.inputs.items():
            if inputs.setdefault(name, sql) != sql:
                raise ValueError(f"input {name!r} is defined twice, differently")
    joins = "".join(f" LEFT JOIN _signal_pop_{s.name} ON e.model IS NOT DISTINCT FROM _signal_pop_{s.name}.model"
                    for s in signals if s.population)
    columns = "".join(f", {sql} AS {name}" for name, sql in inputs.items())
    return f"SELECT e.request_id{columns} FROM exchanges e{joins}"


def score_batch(batch: pa.Table, signals: list[Signal], pool: ThreadPoolExecutor, parts: int) -> pa.Table:
    """Strength columns for one batch; each (signal, slice of rows) is a task, as the kernels release the GIL."""
    step = -(-batch.num_rows // parts) or 1
    slices = [batch.slice(i, step) for i in range(0, batch.num_rows, step)]
    futures = {s.name: [pool.submit(s.score, piece) for piece in slices] for s in signals}
    columns = {"request_id": batch.column("request_id")}
    for name, parts_done in futures.items():
        strength = np.concatenate([f.result() for f in parts_done]) if slices else np.zeros(0)
        columns[name] = pa.array(np.clip(np.nan_to_num(strength), 0.0, 1.0), pa.float64())
    return pa.table(columns)


def compute_signals(ws: Workspace, progress: ProgressFn | None = None,
                    signals: Iterable[Signal] | None = None) -> dict[str, int]:
    """Score every exchange into table `exchange_signals` (replaced); return counts.

    The counts are `exchanges` (rows scored) and, per signal, how many rows reach FLAG_AT.
    `progress(done, total)` is called after each batch of rows.
    """
    signals = list(SIGNALS if signals is None else signals)
    db = ws.backend
    for s in signals:
        if s.population:
            # Not TEMP: the batches are read through a cursor of their own, which sees no TEMP tables.
            db.execute(f"CREATE OR REPLACE TABLE _signal_pop_{s.name} AS {s.population}")
    db.execute(f"DROP TABLE IF EXISTS {TABLE}")
    db.execute(f"CREATE TABLE {TABLE} (request_id VARCHAR"
               + "".join(f", {s.name} DOUBLE" for s in signals) + ")")
    query, total = batch_query(signals), ws.count("exchanges")
    workers = usable_cores()
    with ThreadPoolExecutor(workers) as pool:
        # Streamed in bounded batches (a cursor of its own on DuckDB), so inserting meanwhile is safe.
        for batch in db.iter_batches(query, rows=BATCH_ROWS):
            scored = score_batch(pa.Table.from_batches([batch]), signals, pool, workers)
            db.register_arrow("_signal_batch", scored)
            db.execute(f"INSERT INTO {TABLE} SELECT * FROM _signal_batch")
            db.unregister("_signal_batch")
            if progress:
                progress(ws.count(TABLE), total)
    for s in signals:
        if s.population:
            db.execute(f"DROP TABLE IF EXISTS _signal_pop_{s.name}")
    flagged = "".join(f", count(*) FILTER (WHERE {s.name} >= {FLAG_AT}) AS {s.name}" for s in signals)
    return ws.sql(f"SELECT count(*) AS exchanges{flagged} FROM {TABLE}").to_pylist()[0]
