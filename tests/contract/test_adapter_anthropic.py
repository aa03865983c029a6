from __future__ import annotations

import pytest

from distillguard.contract.adapters import AdapterError, get_adapter

adapter = get_adapter("anthropic")


def one(document: dict) -> dict:
    records = list(adapter.records(document))
    assert len(records) == 1
    return records[0]


def test_wrapper_with_message_response(doc, check):
    document = doc("anthropic", "wrapper_with_response")
    record = check(one(document))
    assert record["request_id"] == "req_011CPz7Q2mXf4u8bA1sNw3kd"
    assert record["timestamp"] == "2026-02-03T14:05:09.412+01:00"  # RFC 3339 text is kept as given
    assert record["account_id"] == "acct-orchid"  # never body.metadata.user_id
    assert record["api_key_id"] == "key-orchid-ci"
    assert record["client_ip"] == "2001:db8:85a3::8a2e:370:7334"
    assert record["user_agent"] == "Anthropic/Python 0.42.0"
    assert record["endpoint"] == "messages"
    assert record["request"] == document["body"]  # Anthropic form, as received
    assert record["region"] == "eu-west"  # unknown wrapper fields are kept
    assert record["response"] == {
        "status": 200,
        "finish_reason": "end_turn",
        "usage": {
            "input_tokens": 1840,  # 40 fresh + 1800 read from the prompt cache
            "output_tokens": 652,
            "cache_read_input_tokens": 1800,
            "cache_creation_input_tokens": 0,
        },
        "content": "Score 7/7. The parity argument is complete.",  # text blocks only
        "latency_ms": 5120,
    }


def test_bare_body_with_tools_and_unix_time(doc, check):
    document = doc("anthropic", "bare_body_tools_multi_turn")
    record = check(one(document))
    assert record["request_id"] == "edge-7f3a9c"
    assert record["timestamp"] == "2026-02-04T10:13:20.5Z"
    assert record["account_id"] == "acct-basalt"
    request = record["request"]
    assert set(request) == {"model", "max_tokens", "tools", "tool_choice", "messages"}
    assert request["tools"][0]["input_schema"]["required"] == ["ticker"]
    assert request["messages"][1]["content"][1] == {
        "type": "tool_use",
        "id": "toolu_01A",
        "name": "get_stock_price",
        "input": {"ticker": "ACME"},
    }
    assert request["messages"][2]["content"][0]["type"] == "tool_result"
    assert "response" not in record


def test_image_blocks_are_kept(doc, check):
    record = check(one(doc("anthropic", "image_blocks")))
    blocks = record["request"]["messages"][0]["content"]
    assert [b["type"] for b in blocks] == ["image", "image", "text"]
    assert blocks[0]["source"]["media_type"] == "image/jpeg"


def test_error_response_sets_status_and_request_id(doc, check):
    record = check(one(doc("anthropic", "rate_limited")))
    assert record["request_id"] == "req_011CRateLimited"  # from the error body
    assert record["response"] == {
        "status": 429,
        "error": {
            "type": "rate_limit_error",
            "message": "Number of request tokens has exceeded your per-minute rate limit",
        },
    }


def test_contract_form_response_passes_through(doc, check):
    document = doc("anthropic", "image_blocks")
    document["response"] = {
        "status": 200,
        "finish_reason": "end_turn",
        "usage": {"input_tokens": 900},
    }
    assert check(one(document))["response"] == document["response"]


def test_message_id_is_the_fallback_request_id(doc):
    document = doc("anthropic", "wrapper_with_response")
    del document["request_id"]
    assert one(document)["request_id"] == "msg_01HnV6yq2mXfAa"


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.pop("timestamp"), "anthropic: missing field 'timestamp'"),
        (
            lambda d: d.update(timestamp="yesterday"),
            "anthropic: field 'timestamp' is not RFC 3339: 'yesterday'",
        ),
        (
            lambda d: d.update(timestamp="2026-02-03T14:05:09"),  # no zone: ambiguous
            "anthropic: field 'timestamp' is not RFC 3339: '2026-02-03T14:05:09'",
        ),
        (
            lambda d: d.update(timestamp=["2026-02-03T14:05:09Z"]),
            "anthropic: field 'timestamp' must be a string or number, got array",
        ),
        (lambda d: d.pop("account_id"), "anthropic: missing field 'account_id'"),
        (
            lambda d: d.update(account_id=7),
            "anthropic: field 'account_id' must be a string, got number",
        ),
        (
            lambda d: (d.pop("request_id"), d.pop("response")),
            "anthropic: missing field 'request_id'",
        ),
        (
            lambda d: d.update(request_id=99),
            "anthropic: field 'request_id' must be a string, got number",
        ),
        (lambda d: d.update(body="{}"), "anthropic: field 'body' must be an object, got string"),
        (lambda d: d["body"].pop("model"), "anthropic: missing field 'body.model'"),
        (
            lambda d: d["body"].pop("messages"),
            "anthropic: field 'body.messages' must be an array, got null",
        ),
        (
            lambda d: d["body"]["messages"].append({"role": "user", "content": {"text": "hi"}}),
            "anthropic: field 'body.messages[1].content' must be a string or array, got object",
        ),
        (
            lambda d: d.update(response="ok"),
            "anthropic: field 'response' must be an object, got string",
        ),
        (
            lambda d: d.update(client_ip=3232235777),
            "anthropic: field 'client_ip' must be a string, got number",
        ),
        (
            lambda d: d["response"]["usage"].update(output_tokens="652"),
            "anthropic: field 'response.usage.output_tokens' must be an integer, got string",
        ),
        (
            lambda d: d["response"].update(stop_reason=0),
            "anthropic: field 'response.stop_reason' must be a string, got number",
        ),
        (
            lambda d: d.update(response={"status": "200", "latency_ms": 12}),
            "anthropic: field 'response.status' must be an integer, got string",
        ),
    ],
)
def test_unmappable_documents_raise_with_reason(doc, mutate, reason):
    document = doc("anthropic", "wrapper_with_response")
    mutate(document)
    with pytest.raises(AdapterError) as caught:
        list(adapter.records(document))
    assert caught.value.reason == reason


def test_bare_body_reasons_name_top_level_fields(doc):
    document = doc("anthropic", "bare_body_tools_multi_turn")
    del document["model"]
    with pytest.raises(AdapterError, match="^anthropic: missing field 'model'$"):
        list(adapter.records(document))
