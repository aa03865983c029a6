from .backends.base import sql_string
from .workspace import DEFAULT_PATH, Workspace

__all__ = ["DEFAULT_PATH", "Workspace", "sql_string"]
