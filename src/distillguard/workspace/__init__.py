from .workspace import DEFAULT_PATH, Workspace

__all__ = ["DEFAULT_PATH", "Workspace"]
