"""DuckDB SQL -> Spark SQL: sqlglot's transpiler plus the rewrites it does not do.

Stages write DuckDB's dialect. sqlglot (read="duckdb", write="spark") maps most of it; the rewrites here
cover what it maps wrongly or not at all for Spark 4.0: fractional epochs, ordered list aggregates and
their slices, `range(n) t(c)` tables, `* EXCLUDE` (expanded from the catalog, as Spark has no
`* EXCEPT`), row values inside functions, DuckDB's byte-length `strlen` and 64-bit `hash`, and
parameters, which are inlined as literals so every statement is one plain SQL text.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark


class SparkDG(Spark):
    """Spark's dialect with DuckDB's semantics for epochs (fractional seconds) and `//` (floor)."""

    class Generator(Spark.Generator):
        TRANSFORMS = {
            **Spark.Generator.TRANSFORMS,
            exp.TimeToUnix: lambda self, e: f"(UNIX_MICROS({self.sql(e, 'this')}) / 1E6)",
            # DuckDB's `//` floors doubles too; Spark's DIV takes integers only.
            exp.IntDiv: lambda self, e: f"FLOOR({self.sql(e, 'this')} / {self.sql(e, 'expression')})",
        }


_FUNCTIONS = {  # DuckDB name -> builder of the Spark expression from the arguments
    "EPOCH_US": lambda a: exp.func("UNIX_MICROS", *a),
    "TO_SECONDS": lambda a: exp.func("MAKE_DT_INTERVAL", exp.Literal.number(0), exp.Literal.number(0),
                                     exp.Literal.number(0), *a),
    "STRLEN": lambda a: exp.func("OCTET_LENGTH", *a),  # DuckDB's strlen counts bytes
    "HASH": lambda a: exp.func("XXHASH64", *a),  # 64 bits like DuckDB's, where Spark's hash has 32
}


def literal(value: Any) -> exp.Expression:
    """A Python parameter as a SQL literal (what DuckDB would bind)."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, (int, float)):
        return exp.Literal.number(repr(value))
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat()), "TIMESTAMP")
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[literal(v) for v in value])
    return exp.Literal.string(str(value))


def _bind(tree: exp.Expression, params: list[Any]) -> exp.Expression:
    positional = iter(params)

    def swap(node):
        if isinstance(node, exp.Placeholder):
            name = node.name
            return literal(params[int(name) - 1] if name.isdigit() else next(positional))
        return node
    return tree.transform(swap)


def _lambda(body: str, *names: str) -> exp.Lambda:
    return exp.Lambda(this=sqlglot.parse_one(body, read="spark"), expressions=[exp.to_identifier(n) for n in names])


def _sorted_list(agg: exp.Expression) -> exp.Expression:
    """`list(x ORDER BY k1 DESC, k2)` as collect_list of structs sorted by a comparator, then `.v`."""
    order: exp.Order = agg.this
    value, distinct = order.this, isinstance(order.this, exp.Distinct)
    if distinct:
        value = value.expressions[0]
    keys = [o.this for o in order.expressions]
    fields = [exp.PropertyEQ(this=exp.to_identifier(f"k{i}"), expression=k.copy()) for i, k in enumerate(keys)]
    fields.append(exp.PropertyEQ(this=exp.to_identifier("v"), expression=value.copy()))
    collected = exp.func("COLLECT_LIST", exp.Struct(expressions=fields))
    cases = []
    for i, o in enumerate(order.expressions):
        first, second = ("-1", "1") if o.args.get("desc") else ("1", "-1")
        cases.append(f"WHEN _x.k{i} > _y.k{i} THEN {first} WHEN _x.k{i} < _y.k{i} THEN {second}")
    comparator = _lambda(f"CASE {' '.join(cases)} ELSE 0 END", "_x", "_y")
    ordered = exp.func("ARRAY_SORT", collected, comparator)
    values = exp.func("TRANSFORM", ordered, _lambda("_e.v", "_e"))
    return exp.func("ARRAY_DISTINCT", values) if distinct else values


def _rewrite(node: exp.Expression, columns: Callable[[str], list[str] | None]) -> exp.Expression:
    if isinstance(node, exp.Bracket) and isinstance(node.this, exp.ArrayAgg) and isinstance(node.this.this, exp.Order) \
            and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Slice):
        piece = node.expressions[0]  # DuckDB slices are 1-based and inclusive
        start, end = int(piece.this.name), int(piece.expression.name)
        return exp.func("SLICE", _sorted_list(node.this), exp.Literal.number(start),
                        exp.Literal.number(end - start + 1))
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _sorted_list(node)
    if isinstance(node, exp.GroupConcat) and isinstance(node.this, exp.Order):
        separator = node.args.get("separator") or exp.Literal.string(",")
        return exp.func("ARRAY_JOIN", _sorted_list(node), separator)
    if isinstance(node, exp.Anonymous) and node.name.upper() in _FUNCTIONS:
        return _FUNCTIONS[node.name.upper()](node.expressions)
    if isinstance(node, exp.TimeToStr) and isinstance(node.args.get("format"), exp.Literal):
        return exp.func("DATE_FORMAT", node.this, exp.Literal.string(_datetime_pattern(node.args["format"].name)))
    if isinstance(node, exp.Window) and node.args.get("spec") and node.args.get("alias"):
        _inline_named_window(node)  # `OVER (w ROWS ...)`: Spark cannot extend a named window
    if isinstance(node, exp.Window) and isinstance(node.this, exp.Filter):
        node.set("this", _unfilter(node.this))  # Spark has no FILTER on window aggregates
        return node
    if isinstance(node, exp.Tuple) and isinstance(node.parent, (exp.Func, exp.Distinct)):
        return exp.Struct(expressions=node.expressions)  # a row value compared as a whole
    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        series, alias = node.this, node.args.get("alias")
        name = alias.columns[0].name if alias and alias.columns else "range"
        spark_range = exp.func("RANGE", series.args["start"], series.args["end"])
        select = exp.select(exp.alias_(exp.column("id"), name)).from_(spark_range)
        return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(alias.name if alias else "r")))
    if isinstance(node, exp.Select):
        _expand_star(node, columns)
    return node


_STRFTIME = {"Y": "yyyy", "m": "MM", "d": "dd", "H": "HH", "M": "mm", "S": "ss", "f": "SSSSSS", "%": "%"}


def _datetime_pattern(strftime: str) -> str:
    """A strftime format as a Spark datetime pattern, literal letters quoted (the `T` of ISO 8601)."""
    out = []
    for piece in re.split(r"(%.)", strftime):
        if piece.startswith("%") and len(piece) == 2:
            if piece[1] not in _STRFTIME:
                raise NotImplementedError(f"strftime directive {piece} has no Spark mapping here")
            out.append(_STRFTIME[piece[1]])
        elif piece:
            out.append("".join(f"'{c}'" if c.isalpha() else ("''" if c == "'" else c) for c in piece))
    return "".join(out)


def _inline_named_window(window: exp.Window) -> None:
    select = window.find_ancestor(exp.Select)
    named = {w.this.name: w for w in (select.args.get("windows") or [])} if select else {}
    base = named.get(window.alias)
    if base is None:
        return
    for key in ("partition_by", "order"):
        if base.args.get(key):
            window.set(key, base.args[key].copy() if key == "order" else [p.copy() for p in base.args[key]])
    window.set("alias", None)


def _unfilter(filtered: exp.Filter) -> exp.Expression:
    """`agg(x) FILTER (WHERE c)` as `agg(CASE WHEN c THEN x END)`: the same for aggregates that skip NULLs."""
    agg, cond = filtered.this.copy(), filtered.expression.this
    arg = agg.this
    value = exp.Literal.number(1) if arg is None or isinstance(arg, exp.Star) else arg
    agg.set("this", exp.Case(ifs=[exp.If(this=cond.copy(), true=value.copy())]))
    return agg


def _expand_star(select: exp.Select, columns: Callable[[str], list[str] | None]) -> None:
    """`SELECT * EXCLUDE (a), ...` over one catalog table: list the other columns. A plain `*` beside
    QUALIFY too: sqlglot rewrites QUALIFY as a filter over a subquery whose extra column `*` would keep."""
    qualified = select.args.get("qualify") is not None
    for star in [e for e in select.expressions if isinstance(e, exp.Star) and (e.args.get("except_") or qualified)]:
        source = select.args.get("from_")
        names = columns(source.this.name) if source and isinstance(source.this, exp.Table) \
            and not select.args.get("joins") else None
        if names is None:
            raise NotImplementedError(f"* EXCLUDE or * with QUALIFY needs one catalog table in FROM: "
                                      f"{select.sql('duckdb')}")
        dropped = {c.name.lower() for c in star.args.get("except_") or []}
        keep = [exp.column(n) for n in names if n.lower() not in dropped]
        index = select.expressions.index(star)
        select.set("expressions", select.expressions[:index] + keep + select.expressions[index + 1:])


def to_spark(tree: exp.Expression, params: list[Any] | None = None,
             columns: Callable[[str], list[str] | None] = lambda name: None) -> str:
    """Spark SQL text of a parsed DuckDB statement (the tree is not modified)."""
    tree = _bind(tree.copy(), params or [])
    tree = tree.transform(lambda node: _rewrite(node, columns))
    return tree.sql(dialect=SparkDG)


def parse(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="duckdb")


def spark_type(duckdb_type: exp.DataType) -> str:
    return duckdb_type.sql(dialect=SparkDG)
