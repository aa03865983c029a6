"""DuckDB -> Spark SQL rewrites that sqlglot alone gets wrong (no Spark session needed)."""

import pytest

pytest.importorskip("sqlglot")

from distillguard.workspace.backends.spark_sql import parse, to_spark  # noqa: E402


def spark(sql: str, params=None, columns=None) -> str:
    return to_spark(parse(sql), params, columns or (lambda name: None))


def test_epoch_keeps_fractions_and_hash_is_64_bit():
    out = spark("SELECT epoch(ts), epoch_us(ts), hash(a, b), strlen(x) FROM t")
    assert "UNIX_MICROS(ts) / 1E6" in out and "UNIX_TIMESTAMP" not in out
    assert "XXHASH64(a, b)" in out and "OCTET_LENGTH(x)" in out


def test_ordered_list_slice_sorts_by_every_key_in_its_direction():
    out = spark("SELECT list(x ORDER BY w DESC, x)[1:3] AS top FROM t GROUP BY ALL")
    assert out.startswith("SELECT SLICE(TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT(w AS k0, x AS k1, x AS v))")
    assert "WHEN _x.k0 > _y.k0 THEN -1" in out and "WHEN _x.k1 > _y.k1 THEN 1" in out
    assert out.endswith("1, 3) AS top FROM t GROUP BY ALL")
    joined = spark("SELECT string_agg(a, '; ' ORDER BY r) FROM t")
    assert joined.startswith("SELECT ARRAY_JOIN(TRANSFORM(ARRAY_SORT(") and "'; ')" in joined


def test_star_exclude_and_star_with_qualify_are_expanded_from_the_catalog():
    columns = {"t": ["a", "ingest_run", "b"]}.get
    assert spark("SELECT * EXCLUDE (ingest_run), NULL AS reason FROM t", columns=columns) == \
        "SELECT a, b, NULL AS reason FROM t"
    dedupe = spark("SELECT * FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b) = 1", columns=columns)
    assert dedupe.startswith("SELECT a, ingest_run, b FROM (SELECT a, ingest_run, b, ROW_NUMBER()")
    with pytest.raises(NotImplementedError):
        spark("SELECT * EXCLUDE (a) FROM t JOIN u USING (k)", columns=columns)


def test_parameters_are_inlined_as_literals():
    out = spark("SELECT * FROM t WHERE a = ? AND b = ? AND c IN (SELECT unnest(?)) AND d = $1",
                ["it's", 2.5, ["x", "y"]])
    assert "a = 'it\\'s'" in out  # Spark escapes quotes with a backslash
    assert "b = 2.5" in out and "ARRAY('x', 'y')" in out and "d = 'it" in out


def test_window_filter_named_window_frame_range_table_and_strftime():
    out = spark("SELECT max(x) FILTER (WHERE ok) OVER (PARTITION BY m) FROM t")
    assert "MAX(CASE WHEN ok THEN x END) OVER (PARTITION BY m)" in out
    framed = spark("SELECT max(x) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t "
                   "WINDOW w AS (PARTITION BY p ORDER BY t)")
    assert "OVER (PARTITION BY p ORDER BY t NULLS LAST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)" in framed
    assert "(SELECT id AS cycle FROM RANGE(0, 3)) AS o" in spark("SELECT * FROM t CROSS JOIN range(3) o(cycle)")
    assert "DATE_FORMAT(ts, 'yyyy-MM-dd\\'T\\'HH:mm')" in spark("SELECT strftime(ts, '%Y-%m-%dT%H:%M') FROM t")
    assert "STRUCT(ts, request_id)" in spark("SELECT arg_min(text, (ts, request_id)) FROM t")
    assert "COUNT(DISTINCT STRUCT(a, b))" in spark("SELECT count(DISTINCT (a, b)) FROM t")
