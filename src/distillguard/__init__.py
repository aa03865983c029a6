"""distillguard: find, stop and prove distillation campaigns against an LLM API."""

__version__ = "0.1.0"
