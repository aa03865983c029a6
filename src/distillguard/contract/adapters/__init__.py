"""Adapters from other log formats into the traffic-log contract.

    adapter = get_adapter("litellm")        # or "anthropic", "otel"
    for record in adapter.records(obj):     # obj: one parsed JSON line
        ...                                 # contract exchange records

`records()` yields zero or more exchanges per document and raises `AdapterError` when
the document cannot be mapped; its reason ("litellm: missing field 'id'") is what
ingest records when it quarantines the document. A document may rightly yield nothing
(an OTLP export without GenAI spans, a LiteLLM embedding call); the caller counts those.
"""

from __future__ import annotations

from typing import Any

from .anthropic import AnthropicAdapter
from .base import Adapter, AdapterError, Record
from .litellm import LiteLLMAdapter
from .otel import OtelAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    cls.name: cls for cls in (LiteLLMAdapter, AnthropicAdapter, OtelAdapter)
}


def get_adapter(name: str, **options: Any) -> Adapter:
    """A new adapter by name; options go to its constructor (e.g. otel's account_keys)."""
    try:
        cls = ADAPTERS[name]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise ValueError(f"unknown adapter {name!r} (known: {known})") from None
    return cls(**options)


__all__ = [
    "ADAPTERS",
    "Adapter",
    "AdapterError",
    "AnthropicAdapter",
    "LiteLLMAdapter",
    "OtelAdapter",
    "Record",
    "get_adapter",
]
