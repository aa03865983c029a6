from .backends.base import CSV_TRUE, csv_text, sql_string
from .workspace import DEFAULT_PATH, Workspace

__all__ = ["CSV_TRUE", "DEFAULT_PATH", "Workspace", "csv_text", "sql_string"]
