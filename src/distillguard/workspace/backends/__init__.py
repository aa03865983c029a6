from .base import Backend
from .duckdb import DuckDBBackend

__all__ = ["Backend", "DuckDBBackend"]
