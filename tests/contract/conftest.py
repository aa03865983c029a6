"""Shared fixtures for the adapter tests: the hand-written documents and a contract check."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import orjson
import pytest

from distillguard.contract.schema import (
    ENDPOINT_CHAT,
    ENDPOINT_MESSAGES,
    EXCHANGE_FIELDS,
    OBJECT,
    RFC3339_PATTERN,
    STRING,
)

FIXTURES = Path(__file__).parent / "fixtures"
_PY_TYPES = {STRING: str, OBJECT: dict}


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="session")
def documents() -> dict[str, dict]:
    return {
        "litellm": load("litellm_payloads.json"),
        "anthropic": load("anthropic_documents.json"),
        "otel": load("otel_exports.json"),
    }


@pytest.fixture(scope="session")
def doc(documents):
    """A fresh copy of a named fixture document, safe to mutate: doc("litellm", "chat_team_key")."""
    return lambda fmt, name: copy.deepcopy(documents[fmt][name])


@pytest.fixture(scope="session")
def check():
    return check_record


def check_record(record: dict) -> dict:
    """Assert `record` is a contract exchange; return it for further checks."""
    for field in EXCHANGE_FIELDS:
        if field.required:
            assert field.name in record, f"missing {field.name}"
        if field.name in record:
            assert isinstance(record[field.name], _PY_TYPES[field.kind]), field.name
            assert record[field.name] is not None
    assert record["request_id"] and record["account_id"]
    assert re.fullmatch(RFC3339_PATTERN, record["timestamp"]), record["timestamp"]
    assert record.get("endpoint", ENDPOINT_CHAT) in (ENDPOINT_CHAT, ENDPOINT_MESSAGES)
    messages = record["request"].get("messages", [])
    assert isinstance(messages, list)
    for message in messages:
        assert isinstance(message["role"], str)
        assert message.get("content") is None or isinstance(message["content"], (str, list))
    response = record.get("response", {})
    assert isinstance(response.get("status", 200), int)
    assert isinstance(response.get("finish_reason", ""), str)
    assert isinstance(response.get("content", ""), str)
    assert isinstance(response.get("latency_ms", 0), (int, float))
    for key in ("input_tokens", "output_tokens", "reasoning_tokens"):
        assert isinstance(response.get("usage", {}).get(key, 0), int), key
    orjson.dumps(record)  # ingest serialises records with orjson: plain JSON values only
    return record
