from .backends.base import CSV_TRUE, csv_text, sql_string
from .tables import USER_TEXT
from .workspace import DEFAULT_PATH, Workspace

__all__ = ["CSV_TRUE", "DEFAULT_PATH", "USER_TEXT", "Workspace", "csv_text", "sql_string"]
