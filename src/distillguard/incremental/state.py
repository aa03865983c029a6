"""What an incremental workspace remembers between updates, in tables of its own (prefix `inc_`).

* `inc_updates`: one row per update, with the last ingest run it covered: exchanges of later runs
  are new to the next update (the watermark).
* `inc_files`: input files already ingested, with size and modification time, so `watch` reads
  only files that are new or changed.
* `inc_context`: the whole-log facts every account's features depend on (when the log starts,
  when each model first appears, how many capability areas occur); when one changes every
  account is recomputed, otherwise only the accounts new data touched.
* `inc_pop_<signal>`: the per-model population statistics each population signal was last scored
  with; old exchanges of a model whose statistics moved are rescored for that signal.
"""

from __future__ import annotations

from pathlib import Path

from ..workspace import Workspace

UPDATES = """run BIGINT, started_at TIMESTAMPTZ, seconds DOUBLE, last_ingest_run BIGINT, new_exchanges BIGINT,
    rescored_exchanges BIGINT, touched_accounts BIGINT, all_accounts BOOLEAN, accounts BIGINT, flagged BIGINT,
    campaigns BIGINT"""
FILES = "path VARCHAR, size BIGINT, mtime_ns BIGINT, ingest_run BIGINT"

# State an update computes is written as `<table>_next` and replaces `<table>` only once the update
# has finished: an update that fails midway is redone in full by the next one, not half-remembered.
NEXT = "_next"

# Whole-log context of the behaviour features (fingerprints/behaviour/features.py: _MODELS, the
# capability-coverage denominator). Kept as text so one comparison covers every part.
CONTEXT_SQL = """
SELECT 'log_start' AS key, CAST(min(ts) AS VARCHAR) AS value FROM exchanges
UNION ALL
SELECT 'model:' || coalesce(model, '<null>'), CAST(min(ts) AS VARCHAR) FROM exchanges
WHERE account_id IS NOT NULL GROUP BY model
UNION ALL
SELECT 'capabilities', CAST(count(DISTINCT c.capability) AS VARCHAR)
FROM exchange_capabilities c JOIN exchanges e USING (request_id)
WHERE e.account_id IS NOT NULL AND c.capability IS NOT NULL AND coalesce(c.confidence, 1) > 0
"""


def ensure(ws: Workspace) -> None:
    ws.backend.execute(f"CREATE TABLE IF NOT EXISTS inc_updates ({UPDATES})")
    ws.backend.execute(f"CREATE TABLE IF NOT EXISTS inc_files ({FILES})")


def watermark(ws: Workspace) -> int:
    """The last ingest run the fingerprints cover (0: none, everything is new)."""
    return int(ws.backend.scalar("SELECT coalesce(max(last_ingest_run), 0) FROM inc_updates"))


def new_files(ws: Workspace, files: list[Path]) -> list[Path]:
    """Files never ingested, or changed (size or mtime) since."""
    seen = {tuple(r.values()) for r in ws.sql("SELECT path, size, mtime_ns FROM inc_files").to_pylist()}
    return [p for p in files if _key(p) not in seen]


def record_files(ws: Workspace, files: list[Path], run: int) -> None:
    for path in files:
        ws.backend.execute("INSERT INTO inc_files VALUES (?, ?, ?, ?)", [*_key(path), run])


def _key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def context_changed(ws: Workspace) -> bool:
    """Compute the whole-log context; True when it differs from the stored one (kept as `_next`)."""
    db = ws.backend
    db.execute(f"CREATE OR REPLACE TABLE inc_context{NEXT} AS {CONTEXT_SQL}")
    return not db.table_exists("inc_context") or bool(db.scalar(f"""
        SELECT count(*) FROM inc_context o FULL JOIN inc_context{NEXT} n USING (key)
        WHERE o.value IS DISTINCT FROM n.value"""))


def _staged(ws: Workspace) -> list[str]:
    return ws.sql(f"SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                  f"AND starts_with(table_name, 'inc_') AND ends_with(table_name, '{NEXT}')").column(0).to_pylist()


def interrupted(ws: Workspace) -> bool:
    """True when the last update failed midway (its staged state is left); that state is dropped."""
    staged = _staged(ws)
    for name in staged:
        ws.backend.execute(f"DROP TABLE {name}")
    return bool(staged)


def promote(ws: Workspace) -> None:
    db = ws.backend
    for name in _staged(ws):
        final = name[: -len(NEXT)]
        db.execute(f"DROP TABLE IF EXISTS {final}")
        db.execute(f"ALTER TABLE {name} RENAME TO {final}")
