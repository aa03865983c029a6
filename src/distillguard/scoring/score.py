"""Apply the shipped scorers: `exchange_scores` and `account_scores`, each with reason codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from ..workspace import Workspace
from .features import ACCOUNT_FEATURES, ACCOUNT_SQL, EXCHANGE_FEATURES, EXCHANGE_SQL, catalogue, feature_sql
from .model import LinearModel, TreeModel

MODELS = Path(__file__).with_name("models")
LEVELS = {
    "exchange": (EXCHANGE_FEATURES, EXCHANGE_SQL, ["request_id", "account_id"], "exchange_scores"),
    "account": (ACCOUNT_FEATURES, ACCOUNT_SQL, ["account_id"], "account_scores"),
}


def feature_table(ws: Workspace, level: str) -> pa.Table:
    features, template, _, _ = LEVELS[level]
    return ws.sql(feature_sql(template, features))


def matrix(table: pa.Table, names: list[str]) -> np.ndarray:
    return np.column_stack([table.column(name).to_numpy(zero_copy_only=False) for name in names])


# The exchange score needs interactions (a grading prompt at a huge max_tokens, a shared template
# without a system prompt...), so it is a tree model; the account score stays linear so every
# account verdict can be taken apart feature by feature.
MODEL_FILES = {"exchange": ("exchange.joblib", TreeModel), "account": ("account.json", LinearModel)}


def load_model(level: str, models: Path = MODELS) -> LinearModel | TreeModel:
    name, cls = MODEL_FILES[level]
    return cls.load(models / name)


def score_level(ws: Workspace, level: str, model: LinearModel | TreeModel | None = None, batch_rows: int = 200_000,
                only: str | None = None) -> int:
    """Score every row of `level` into its table: ids, `score` (0..1) and `reasons`. With `only` (a table
    holding the level's key column) score just those rows and replace only theirs (incremental updates)."""
    features, template, keys, table_name = LEVELS[level]
    model = model or load_model(level)
    names = catalogue(features)
    db = ws.backend
    columns = f"{', '.join(f'{k} VARCHAR' for k in keys)}, score DOUBLE, reasons VARCHAR"
    query = feature_sql(template, features)
    if only:
        key = keys[0]
        db.execute(f"CREATE TABLE IF NOT EXISTS {table_name} ({columns})")
        db.execute(f"DELETE FROM {table_name} WHERE {key} IN (SELECT {key} FROM {only})")
        query = f"SELECT * FROM ({query}) WHERE {key} IN (SELECT {key} FROM {only})"
    else:
        db.execute(f"CREATE OR REPLACE TABLE {table_name} ({columns})")
    rows = 0
    for batch in db.iter_batches(query, rows=batch_rows):
        table = pa.Table.from_batches([batch])
        x = matrix(table, model.features)
        out = pa.table({**{k: table.column(k) for k in keys}, "score": model.score(x),
                        "reasons": model.reasons(x, names)})
        db.register_arrow("_scored", out)
        db.execute(f"INSERT INTO {table_name} SELECT * FROM _scored")
        db.unregister("_scored")
        rows += len(out)
    return rows
