from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.contract.adapters import AdapterError, get_adapter

adapter = get_adapter("litellm")


def one(payload: dict) -> dict:
    records = list(adapter.records(payload))
    assert len(records) == 1
    return records[0]


def test_chat_with_team_key(doc, check):
    record = check(one(doc("litellm", "chat_team_key")))
    assert record["request_id"] == "chatcmpl-5d0b1c7e-8f1a-4c2e-9a47-1f2e3d4c5b6a"
    assert record["timestamp"] == "2026-02-03T14:05:09.412Z"
    assert record["account_id"] == "team-aurora"  # the team wins over the key's user
    assert record["api_key_id"].startswith("88f1c0d2")
    assert record["client_ip"] == "203.0.113.7"
    assert "user_agent" not in record  # only x- headers were logged
    assert record["endpoint"] == "chat.completions"
    assert record["request"] == {
        "model": "frontier-large",  # model_group: what the caller asked for
        "messages": [
            {"role": "system", "content": "You are a careful math tutor."},
            {"role": "user", "content": "Solve 3x+5=20 and show every step."},
        ],
        "temperature": 0.7,
        "max_tokens": 4096,
        "n": 1,
        "user": "u-77",
        "stream": False,
    }
    assert record["response"] == {
        "status": 200,
        "finish_reason": "stop",
        "usage": {"input_tokens": 31, "output_tokens": 220, "reasoning_tokens": 180},
        "content": "Subtract 5 from both sides: 3x = 15. Divide by 3: x = 5.",
        "latency_ms": 3565.0,
    }
    extra = record["litellm"]
    assert extra["deployment_model"] == "frontier-large-2026-01"
    assert extra["end_user"] == "u-77"
    assert extra["user_api_key_user_id"] == "user-1187"
    assert extra["user_api_key_user_email"] == "ops@aurora-labs.example"
    assert extra["request_tags"] == ["eval-sweep"]
    assert extra["trace_id"] == "a3c9e0f2-7b1d-4e55-8c2a-0d9f6b1e2c3d"
    assert "user_api_key_org_id" not in extra  # nulls are left out, not kept as null


def test_multi_turn_tools_user_key(doc, check):
    payload = doc("litellm", "tools_multi_turn_user_key")
    record = check(one(payload))
    assert record["account_id"] == "user-2231"  # no team: the key's user
    assert record["timestamp"] == "2026-02-03T14:46:40Z"
    assert record["client_ip"] == "2001:db8::42"  # from metadata when the top level is null
    assert record["user_agent"] == "OpenAI/Python 1.55.0"
    request = record["request"]
    assert request["model"] == "frontier-small"
    assert request["messages"] == payload["messages"]
    assert request["messages"][2]["tool_calls"][1]["id"] == "call_porto"
    assert request["tools"][0]["function"]["name"] == "get_weather"
    assert request["tool_choice"] == "auto"
    assert request["stream"] is True
    assert record["response"]["latency_ms"] == 1500.0
    assert "deployment_model" not in record["litellm"]


def test_image_parts_are_kept(doc, check):
    record = check(one(doc("litellm", "image_input")))
    parts = record["request"]["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "image_url"]
    assert parts[2]["image_url"]["url"].startswith("data:image/png;base64,")
    assert record["timestamp"] == "2026-02-03T15:03:20.000001Z"
    assert record["response"]["finish_reason"] == "length"


def test_failure_maps_to_error_status(doc, check):
    record = check(one(doc("litellm", "rate_limited_failure")))
    response = record["response"]
    assert response["status"] == 429
    assert response["error"] == {
        "type": "RateLimitError",
        "message": "litellm.RateLimitError: tokens per minute exceeded for team-aurora",
    }
    assert response["usage"] == {"input_tokens": 0, "output_tokens": 0}
    assert "finish_reason" not in response and "content" not in response


def test_failure_without_code_is_500(doc):
    payload = doc("litellm", "rate_limited_failure")
    payload["error_information"] = {"error_class": "APIConnectionError", "error_code": ""}
    payload["error_str"] = None
    response = one(payload)["response"]
    assert response["status"] == 500
    assert response["error"] == {"type": "APIConnectionError"}


def test_text_completion_prompt_becomes_a_user_turn(doc, check):
    record = check(one(doc("litellm", "text_completion")))
    assert record["account_id"] == "user-9001"
    assert record["request"]["messages"] == [
        {"role": "user", "content": "Once upon a time, in a lighthouse,"}
    ]
    assert record["request"]["logprobs"] == 5
    assert record["response"]["content"] == " there lived a keeper who counted ships."


def test_anthropic_messages_call_keeps_anthropic_form(doc, check):
    record = check(one(doc("litellm", "anthropic_messages_call")))
    assert record["endpoint"] == "messages"
    assert record["request"]["system"] == "You are a rigorous mathematician."
    assert record["request"]["thinking"] == {"type": "enabled", "budget_tokens": 8000}
    assert record["response"]["finish_reason"] == "end_turn"
    assert record["response"]["content"].startswith("Assume finitely many primes")


def test_unlogged_prompt_leaves_messages_out(doc, check):
    payload = doc("litellm", "chat_team_key")
    payload["messages"] = None
    assert "messages" not in check(one(payload))["request"]


def test_non_exchange_call_yields_nothing(doc):
    assert list(adapter.records(doc("litellm", "embedding_call"))) == []


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda p: p.pop("id"), "litellm: missing field 'id'"),
        (lambda p: p.update(id=""), "litellm: field 'id' is empty"),
        (lambda p: p.update(id=1234), "litellm: field 'id' must be a string, got number"),
        (lambda p: p.pop("startTime"), "litellm: missing field 'startTime'"),
        (
            lambda p: p.update(startTime="2026-02-03T14:05:09Z"),
            "litellm: field 'startTime' must be a number, got string",
        ),
        (
            # milliseconds where seconds belong land past year 9999
            lambda p: p.update(startTime=1770127509412),
            "litellm: field 'startTime' is not a unix time in years 1-9999: 1770127509412",
        ),
        (
            lambda p: p.update(startTime=True),
            "litellm: field 'startTime' must be a number, got boolean",
        ),
        (
            lambda p: p["metadata"].update(user_api_key_team_id=None, user_api_key_user_id=None),
            "litellm: no account in metadata.user_api_key_team_id or user_api_key_user_id",
        ),
        (
            lambda p: p.pop("metadata"),
            "litellm: no account in metadata.user_api_key_team_id or user_api_key_user_id",
        ),
        (
            lambda p: p["metadata"].update(user_api_key_team_id=42),
            "litellm: field 'metadata.user_api_key_team_id' must be a string, got number",
        ),
        (
            lambda p: p.update(messages={"prompt": "x"}),
            "litellm: field 'messages' must be an array, got object",
        ),
        (
            lambda p: p["messages"].append({"content": "no role"}),
            "litellm: missing field 'messages[2].role'",
        ),
        (
            lambda p: p["messages"].append({"role": "user", "content": 5}),
            "litellm: field 'messages[2].content' must be a string or array, got number",
        ),
        (
            lambda p: p.update(model_parameters=["temperature"]),
            "litellm: field 'model_parameters' must be an object, got array",
        ),
        (
            lambda p: p.update(status="pending"),
            "litellm: field 'status' must be 'success' or 'failure', got 'pending'",
        ),
        (lambda p: p.update(model_group=None, model=None), "litellm: missing field 'model'"),
        (
            lambda p: p["response"]["choices"][0].update(finish_reason=["stop"]),
            "litellm: field 'response.choices[0].finish_reason' must be a string, got array",
        ),
        (
            lambda p: p.update(prompt_tokens=31.5),
            "litellm: field 'prompt_tokens' must be an integer, got number",
        ),
        (
            lambda p: p.update(endTime="later"),
            "litellm: field 'endTime' must be a number, got string",
        ),
    ],
)
def test_unmappable_payloads_raise_with_reason(doc, mutate, reason):
    payload = doc("litellm", "chat_team_key")
    mutate(payload)
    with pytest.raises(AdapterError) as caught:
        list(adapter.records(payload))
    assert caught.value.reason == reason == str(caught.value)


def test_document_must_be_an_object():
    with pytest.raises(AdapterError, match="litellm: document must be a JSON object, got array"):
        list(adapter.records([{"id": "x"}]))


MAX_UNIX = (
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
).total_seconds()


@settings(max_examples=200, deadline=None)
@given(
    request_id=st.text(min_size=1),
    account=st.text(min_size=1),
    start=st.one_of(
        st.floats(min_value=0, max_value=MAX_UNIX, allow_nan=False),
        st.integers(min_value=-62135596800, max_value=int(MAX_UNIX)),
    ),
    duration=st.floats(min_value=0, max_value=3600, allow_nan=False),
)
def test_ids_and_times_round_trip(documents, check, request_id, account, start, duration):
    payload = dict(documents["litellm"]["chat_team_key"])
    payload.update(id=request_id, startTime=start, endTime=start + duration)
    payload["metadata"] = {"user_api_key_team_id": account}
    record = check(one(payload))
    assert record["request_id"] == request_id
    assert record["account_id"] == account
    parsed = datetime.fromisoformat(record["timestamp"])
    assert parsed.utcoffset() == timedelta(0)
    micros = (parsed - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert micros == round(Decimal(start) * 1_000_000)  # exact to the microsecond
