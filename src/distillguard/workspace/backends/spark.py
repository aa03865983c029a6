"""Apache Spark backend (PySpark): the same stages, transpiled from DuckDB's dialect.

Tables are temporary views over materialised DataFrames. Every statement that writes a table
(`CREATE TABLE AS`, `INSERT`) runs its query and checkpoints the result, so a table is always plain
data: an iterative step (label propagation rewrites its table once per round) never builds a query
plan that grows with the rounds. `INSERT` checkpoints only the new rows and adds them as one more part
of the table, so repeated appends cost what they add. Checkpoints are local (executor storage) unless
`checkpoint_dir` is given, which a cluster should use for fault tolerance.

With a `path`, the workspace is kept as one Parquet folder per table under it: loaded when opened,
written when closed, so a later `Workspace.open(path, backend="spark")` (or `explain`) sees it.

Spark has no transactions; `BEGIN`/`COMMIT`/`ROLLBACK` are accepted and do nothing.
"""

from __future__ import annotations

import os
import shutil
from functools import reduce
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pyarrow as pa
from sqlglot import exp

from . import spark_sql
from .base import Backend, sql_string

_DUCKDB_TYPES = {"string": "VARCHAR", "double": "DOUBLE", "float": "FLOAT", "bigint": "BIGINT", "int": "INTEGER",
                 "boolean": "BOOLEAN", "timestamp": "TIMESTAMP WITH TIME ZONE", "array<string>": "VARCHAR[]"}
_INFO = {"information_schema.tables": "_dg_info_tables", "information_schema.columns": "_dg_info_columns"}


def _target(statement: exp.Expression) -> str:
    """The table a CREATE or INSERT writes (with or without a column list)."""
    target = statement.this
    return (target.this if isinstance(target, exp.Schema) else target).name


def _spark_arrow_type(t: pa.DataType) -> pa.DataType:
    """The nearest Arrow type Spark converts: no large or unsigned types (DuckDB's counts are UBIGINT)."""
    if pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_unsigned_integer(t):
        return pa.int64()
    if pa.types.is_large_list(t) or pa.types.is_list(t):
        return pa.list_(_spark_arrow_type(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_spark_arrow_type(f.type)) for f in t])
    return t


def local_session(app: str = "distillguard", master: str = "local[2]", shuffle_partitions: int = 2):
    """A SparkSession for one machine: loopback only, no UI, few shuffle partitions (small data)."""
    from pyspark.sql import SparkSession
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = (SparkSession.builder.appName(app).master(master)
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.ui.showConsoleProgress", "false"))
    if master.startswith("local"):
        builder = (builder.config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.ui.enabled", "false"))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkBackend(Backend):
    name = "spark"

    def __init__(self, path: str | Path | None = None, spark=None, master: str | None = None,
                 checkpoint_dir: str | Path | None = None):
        self.owns_session = spark is None
        self.spark = spark or local_session(master=master or "local[2]")
        # Times are UTC on every engine: DuckDB's workspace is set the same way. Without ANSI mode a
        # division by zero is NULL, as stages expect where a FILTER or CASE guards it only logically.
        self.spark.conf.set("spark.sql.session.timeZone", "UTC")
        self.spark.conf.set("spark.sql.ansi.enabled", "false")
        self.path = Path(path) if path else None
        self.reliable = checkpoint_dir is not None
        if self.reliable:
            self.spark.sparkContext.setCheckpointDir(str(checkpoint_dir))
        self._parts: dict[str, list] = {}  # table -> checkpointed DataFrames whose union is the table
        self._views: set[str] = set()  # Arrow tables registered by stages
        self._temp: set[str] = set()  # TEMP tables: like DuckDB's, gone when the workspace closes
        # Row-local transforms (ingest's parse) run on an embedded DuckDB; see transform_batch.
        self._local = duckdb.connect()
        self._local.execute("SET TimeZone='UTC'")
        self._saved: set[str] = set()  # tables read from `path` and not rewritten since
        if self.path and self.path.exists():
            for folder in sorted(p for p in self.path.iterdir() if p.is_dir() and not p.name.endswith(".new")):
                self._store(folder.name, [self.spark.read.parquet(str(folder))])
                self._saved.add(folder.name.lower())

    # -- tables -------------------------------------------------------------------------------------
    def _materialise(self, df):
        return df.checkpoint(eager=True) if self.reliable else df.localCheckpoint(eager=True)

    def _store(self, name: str, parts: list) -> None:
        self._saved.discard(name.lower())
        for df in self._parts.pop(name.lower(), []):
            if not any(df is kept for kept in parts):
                df.unpersist()
        self._parts[name.lower()] = parts
        reduce(lambda a, b: a.unionByName(b), parts).createOrReplaceTempView(name)

    def _drop(self, name: str) -> None:
        for df in self._parts.pop(name.lower(), []):
            df.unpersist()
        self.spark.catalog.dropTempView(name)

    def _columns(self, name: str) -> list[str] | None:
        return self.spark.table(name).columns if self.table_exists(name) else None

    def _query(self, tree: exp.Expression, params: list[Any] | None):
        if any(t.sql().lower() in _INFO for t in tree.find_all(exp.Table)):
            self._information_schema()
            tree = tree.transform(lambda n: exp.to_table(_INFO[n.sql().lower()])
                                  if isinstance(n, exp.Table) and n.sql().lower() in _INFO else n)
        return self.spark.sql(spark_sql.to_spark(tree, params, self._columns))

    def _information_schema(self) -> None:
        """DuckDB's information_schema views that stages read, over this workspace's tables."""
        tables, columns = [], []
        for name, parts in self._parts.items():
            tables.append(name)
            for field in parts[0].schema.fields:
                kind = field.dataType.simpleString()
                columns.append((name, field.name, _DUCKDB_TYPES.get(kind, kind.upper())))
        self.spark.createDataFrame(pa.table({
            "table_name": pa.array(tables, pa.string()),
            "table_type": pa.array(["BASE TABLE"] * len(tables), pa.string())}),
        ).createOrReplaceTempView(_INFO["information_schema.tables"])
        self.spark.createDataFrame(pa.table({
            "table_name": pa.array([c[0] for c in columns], pa.string()),
            "column_name": pa.array([c[1] for c in columns], pa.string()),
            "data_type": pa.array([c[2] for c in columns], pa.string())}),
        ).createOrReplaceTempView(_INFO["information_schema.columns"])

    # -- statements ---------------------------------------------------------------------------------
    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        tree = spark_sql.parse(sql)
        if isinstance(tree, (exp.Transaction, exp.Commit, exp.Rollback)):
            return
        if isinstance(tree, exp.Create) and tree.kind == "MACRO":
            self._local.execute(sql)  # macros serve the row-local transforms only
            return
        if isinstance(tree, exp.Create) and tree.kind == "TABLE":
            self._create(tree, params)
        elif isinstance(tree, exp.Insert):
            self._insert(tree, params)
        elif isinstance(tree, exp.Drop):
            self._drop(tree.this.name)
        elif isinstance(tree, (exp.Update, exp.Delete)):
            raise NotImplementedError("the Spark catalog has no UPDATE/DELETE; write the stage as "
                                      f"CREATE OR REPLACE TABLE ... AS SELECT: {sql.strip()[:200]}")
        else:
            self._query(tree, params).collect()

    def _create(self, tree: exp.Create, params) -> None:
        target, name = tree.this, _target(tree)
        if tree.args.get("exists") and name.lower() in self._parts:
            return
        temporary = any(True for _ in tree.find_all(exp.TemporaryProperty))
        (self._temp.add if temporary else self._temp.discard)(name.lower())
        if tree.expression is not None:
            self._store(name, [self._materialise(self._query(tree.expression, params))])
            return
        ddl = ", ".join(f"`{c.name}` {spark_sql.spark_type(c.kind)}" for c in target.expressions
                        if isinstance(c, exp.ColumnDef))
        self._store(name, [self.spark.createDataFrame([], schema=ddl)])

    def _insert(self, tree: exp.Insert, params) -> None:
        from pyspark.sql import functions as F
        target, name, source = tree.this, _target(tree), tree.expression
        if isinstance(source, exp.Values):
            source = exp.select("*").from_(source)
        rows = self._query(source, params)
        table = self._parts[name.lower()]
        schema = table[0].schema
        listed = [c.name.lower() for c in target.expressions] if isinstance(target, exp.Schema) else \
            [f.name.lower() for f in schema.fields]
        rows = rows.toDF(*[f"_c{i}" for i in range(len(rows.columns))])  # by position: names may repeat
        given = dict(zip(listed, rows.columns))
        rows = rows.select([(F.col(given[f.name.lower()]) if f.name.lower() in given else F.lit(None))
                            .cast(f.dataType).alias(f.name) for f in schema.fields])
        self._store(name, table + [self._materialise(rows)])

    def fetch_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        return self._query(spark_sql.parse(sql), params).toArrow()

    def iter_batches(self, sql: str, rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        # Collected to the driver, then cut: Python steps run there (docs/backends.md).
        yield from self.fetch_arrow(sql).to_batches(max_chunksize=rows)

    def transform_batch(self, sql: str, name: str, table: pa.Table) -> pa.Table:
        # The SQL reads only `table` and macros, so it needs no workspace: an embedded DuckDB runs it
        # where the batch is (the driver here; inside mapInArrow on executors for a distributed ingest).
        self._local.register(name, table)
        try:
            return self._local.sql(sql).to_arrow_table()
        finally:
            self._local.unregister(name)

    def write_csv(self, sql: str, path: str | Path) -> None:
        # Through DuckDB's writer, so the file is byte-for-byte what the DuckDB backend writes.
        self._local.register("_dg_csv", self.fetch_arrow(sql))
        try:
            self._local.execute(f"COPY _dg_csv TO {sql_string(str(path))} (HEADER, DELIMITER ',')")
        finally:
            self._local.unregister("_dg_csv")

    def register_arrow(self, name: str, table: pa.Table | pa.RecordBatchReader) -> None:
        if isinstance(table, pa.RecordBatchReader):
            table = table.read_all()
        schema = pa.schema([f.with_type(_spark_arrow_type(f.type)) for f in table.schema])
        self.spark.createDataFrame(table.cast(schema, safe=False)).createOrReplaceTempView(name)
        self._views.add(name)

    def unregister(self, name: str) -> None:
        self._views.discard(name)
        self.spark.catalog.dropTempView(name)

    def table_exists(self, name: str) -> bool:
        return name.lower() in self._parts or name in self._views

    def _save(self) -> None:
        """Write each changed table to `path/<table>`: beside the old copy first, which a table read
        from it may still need while it is written, then in its place."""
        self.path.mkdir(parents=True, exist_ok=True)
        keep = set(self._parts) - self._temp
        for name in sorted(keep - self._saved):
            folder, fresh = self.path / name, self.path / f"{name}.new"
            shutil.rmtree(fresh, ignore_errors=True)
            self.spark.table(name).write.parquet(str(fresh))
            shutil.rmtree(folder, ignore_errors=True)
            fresh.rename(folder)
        for folder in self.path.iterdir():
            if folder.is_dir() and folder.name.lower() not in keep:
                shutil.rmtree(folder)  # dropped (or left by an interrupted save)

    def close(self) -> None:
        if self.path:
            self._save()
        for name in list(self._parts):
            self._drop(name)
        for name in list(self._views):
            self.unregister(name)
        self._local.close()
        if self.owns_session:
            self.spark.stop()
