from .base import Backend
from .duckdb import DuckDBBackend

__all__ = ["Backend", "DuckDBBackend", "SparkBackend"]


def __getattr__(name: str):
    # PySpark is an optional extra: import it only when the Spark backend is asked for.
    if name == "SparkBackend":
        from .spark import SparkBackend
        return SparkBackend
    raise AttributeError(name)
