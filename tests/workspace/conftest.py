"""Backend fixtures in the Splink style: one case, run on every backend.

`backend` is parametrised over "duckdb" and "spark"; the Spark runs carry the `spark` marker and
share one local SparkSession for the whole test session (starting one costs seconds).
"""

import importlib.util
import os
import shutil

import pytest

from distillguard.workspace import Workspace

BACKENDS = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


def _spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install -e '.[spark]')"
    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        return "no Java runtime on PATH or JAVA_HOME (PySpark needs a JDK 17)"
    return None


@pytest.fixture(scope="session")
def spark_session():
    missing = _spark_missing()
    if missing:
        pytest.skip(f"Spark backend not tested: {missing}")
    from distillguard.workspace.backends.spark import local_session
    session = local_session(app="distillguard-tests")
    # Test data is tiny: compiling generated code for every query costs more than it saves.
    session.conf.set("spark.sql.codegen.wholeStage", "false")
    yield session
    session.stop()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def open_ws(backend, tmp_path, request):
    """Open a workspace on the test's backend: `open_ws()` for a fresh one."""
    opened = []

    def make(name: str = "ws") -> Workspace:
        if backend == "spark":
            ws = Workspace.open(None, backend="spark", spark=request.getfixturevalue("spark_session"))
        else:
            ws = Workspace.open(tmp_path / f"{name}.duckdb")
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()
