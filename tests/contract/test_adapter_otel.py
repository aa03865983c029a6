from __future__ import annotations

import pytest

from distillguard.contract.adapters import AdapterError, get_adapter

adapter = get_adapter("otel")
SPAN = "resourceSpans[0].scopeSpans[0].spans[0]"


def attr(key: str, value) -> dict:
    """One OTLP/JSON attribute, for the edits the failure cases make."""
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def span_attributes(document: dict, scope: int = 0, span: int = 0) -> list:
    return document["resourceSpans"][0]["scopeSpans"][scope]["spans"][span]["attributes"]


def test_latest_conventions_one_exchange_per_inference_span(doc, check):
    records = list(adapter.records(doc("otel", "semconv_latest")))
    assert len(records) == 1  # the HTTP span and the embeddings span are not exchanges
    record = check(records[0])
    assert record["request_id"] == "chatcmpl-9QvR2sYb"
    assert record["timestamp"] == "2026-02-03T14:05:09.123456789Z"  # nanoseconds kept
    assert record["account_id"] == "acct-42"
    assert record["client_ip"] == "203.0.113.7"
    assert record["user_agent"] == "OpenAI/Python 1.55.0"
    assert record["endpoint"] == "chat.completions"
    request = record["request"]
    assert {
        k: request[k] for k in ("model", "temperature", "top_p", "max_tokens", "seed", "stop")
    } == {
        "model": "frontier-large",
        "temperature": 0.2,
        "top_p": 0.95,
        "max_tokens": 2048,
        "seed": 7,
        "stop": ["###"],
    }
    assert request["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    assert request["messages"] == [
        {"role": "system", "content": "You are a meteorology assistant."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_p1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_p1", "content": "rain, 11C"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "And what does this sky suggest?"},
                {"type": "image_url", "image_url": {"url": "https://cdn.example/sky.jpg"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        },
    ]
    assert record["response"] == {
        "status": 200,
        "finish_reason": "stop",
        "usage": {"input_tokens": 512, "output_tokens": 96, "reasoning_tokens": 40},
        "content": "Rain in Paris; the sky suggests more.",
        "latency_ms": 2900.0,
    }
    extra = record["otel"]
    assert extra["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert extra["span_id"] == "a1b2c3d4e5f60718"
    assert extra["attributes"]["gen_ai.conversation.id"] == "conv_77aa"  # unmapped, kept
    assert extra["attributes"]["gen_ai.response.model"] == "frontier-large-2026-01"
    assert "gen_ai.input.messages" not in extra["attributes"]  # mapped, not duplicated
    assert extra["resource"] == {
        "service.name": "inference-gateway",
        "deployment.environment.name": "prod-eu",
    }


def test_flattened_prompt_attributes_and_a_failed_span(doc, check):
    ok, failed = (check(r) for r in adapter.records(doc("otel", "flattened_legacy")))
    assert ok["request_id"] == "4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7"  # no response id
    assert ok["account_id"] == "acct-7"  # from the resource
    assert ok["timestamp"] == "2026-02-03T17:33:20Z"
    assert ok["request"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Read the chart"},
                {"type": "image_url", "image_url": {"url": "https://cdn.example/chart.png"}},
            ],
        },
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_c1",
                    "type": "function",
                    "function": {"name": "fetch_series", "arguments": '{"id": "gdp"}'},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_c1",
            "content": "[1.2, 1.9, 2.4]",
        },  # JSON, but not parts
    ]
    assert ok["response"] == {
        "status": 200,
        "finish_reason": "stop",
        "usage": {"input_tokens": 230, "output_tokens": 7},
        "content": "GDP growth is accelerating.",
        "latency_ms": 2500.0,
    }
    assert ok["otel"]["attributes"]["llm.is_streaming"] is False

    assert failed["response"]["status"] == 429
    assert failed["response"]["error"] == {
        "type": "RateLimitError",
        "message": "Rate limit reached",
    }
    assert failed["otel"]["events"][0]["attributes"]["exception.type"] == "openai.RateLimitError"


def test_message_events(doc, check):
    (record,) = adapter.records(doc("otel", "message_events"))
    check(record)
    assert record["account_id"] == "acct-99"
    assert record["request"]["messages"] == [
        {"role": "system", "content": "You translate to French."},
        {"role": "user", "content": "Good morning"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_d1",
                    "type": "function",
                    "function": {"name": "dictionary", "arguments": '{"word": "morning"}'},
                }
            ],
        },
        {"role": "tool", "content": "matin", "tool_call_id": "call_d1"},
    ]
    assert record["response"]["finish_reason"] == "tool_calls"
    assert [e["name"] for e in record["otel"]["events"]] == [
        "gen_ai.choice"
    ]  # unmapped events kept


def test_whole_event_body_in_one_attribute(doc):
    document = doc("otel", "message_events")
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["events"] = [
        {
            "name": "gen_ai.user.message",
            "attributes": [attr("gen_ai.event.content", '{"role": "user", "content": "Bonjour?"}')],
        }
    ]
    (record,) = adapter.records(document)
    assert record["request"]["messages"] == [{"role": "user", "content": "Bonjour?"}]


def test_span_without_captured_content_has_no_messages(doc, check):
    document = doc("otel", "semconv_latest")
    attributes = span_attributes(document, scope=1)
    attributes[:] = [
        a
        for a in attributes
        if a["key"] not in ("gen_ai.input.messages", "gen_ai.system_instructions")
    ]
    (record,) = adapter.records(document)
    assert "messages" not in check(record)["request"]


def test_no_genai_span_yields_nothing(doc):
    assert list(adapter.records(doc("otel", "no_genai_spans"))) == []
    assert list(adapter.records({"resourceSpans": []})) == []


def test_account_keys_option(doc):
    document = doc("otel", "semconv_latest")
    span_attributes(document, scope=1).append(attr("gateway.account_id", "acct-from-gateway"))
    custom = get_adapter("otel", account_keys=("gateway.account_id", "enduser.id"))
    (record,) = custom.records(document)
    assert record["account_id"] == "acct-from-gateway"


def test_service_name_is_not_an_account(doc):
    document = doc("otel", "message_events")
    attributes = span_attributes(document)
    attributes[:] = [a for a in attributes if a["key"] != "user.id"]
    with pytest.raises(AdapterError) as caught:
        list(adapter.records(document))
    assert (
        caught.value.reason
        == f"otel: {SPAN}: no account in enduser.id or user.id on the span or its resource"
    )


def test_one_bad_span_quarantines_the_whole_line(doc):
    document = doc("otel", "flattened_legacy")
    del document["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["startTimeUnixNano"]
    records = []
    with pytest.raises(AdapterError, match=r"spans\[1\]: missing field 'startTimeUnixNano'"):
        records.extend(adapter.records(document))
    assert records == []  # the good first span was not handed out before the failure


def _set(key: str, value):
    def mutate(document):
        attributes = span_attributes(document)
        attributes[:] = [a for a in attributes if a["key"] != key] + [
            value if isinstance(value, dict) else attr(key, value)
        ]

    return mutate


def _span(**fields):
    return lambda document: document["resourceSpans"][0]["scopeSpans"][0]["spans"][0].update(fields)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda d: d.pop("resourceSpans"), "otel: missing field 'resourceSpans'"),
        (
            lambda d: d.update(resourceSpans={}),
            "otel: field 'resourceSpans' must be an array, got object",
        ),
        (
            lambda d: d["resourceSpans"].append("x"),
            "otel: field 'resourceSpans[1]' must be an object, got string",
        ),
        (
            lambda d: d["resourceSpans"][0].update(scopeSpans={"spans": []}),
            "otel: field 'resourceSpans[0].scopeSpans' must be an array, got object",
        ),
        (_span(startTimeUnixNano=None), f"otel: {SPAN}: missing field 'startTimeUnixNano'"),
        (
            _span(endTimeUnixNano=17.5),
            f"otel: {SPAN}: field 'endTimeUnixNano' must be unix nanoseconds, got 17.5",
        ),
        (
            _span(startTimeUnixNano="2026-02-03"),
            f"otel: {SPAN}: field 'startTimeUnixNano' must be unix nanoseconds, got '2026-02-03'",
        ),
        (_span(startTimeUnixNano="0"), f"otel: {SPAN}: field 'startTimeUnixNano' is 0 (unset)"),
        (
            _span(startTimeUnixNano="999999999999999999999"),
            f"otel: {SPAN}: field 'startTimeUnixNano' is past year 9999: 999999999999999999999",
        ),
        (_span(traceId=None), f"otel: {SPAN}: no gen_ai.response.id and no traceId/spanId"),
        (
            _span(attributes={"gen_ai.request.model": "m"}),
            f"otel: {SPAN}.attributes: attributes must be an array",
        ),
        (
            _set(
                "gen_ai.request.max_tokens",
                {"key": "gen_ai.request.max_tokens", "value": {"intValue": "many"}},
            ),
            f"otel: {SPAN}.attributes: attribute 'gen_ai.request.max_tokens': "
            "intValue 'many' is not a number",
        ),
        (_set("user.id", 42), f"otel: {SPAN}: attribute 'user.id' must be a string, got number"),
        (
            _set("client.address", True),
            f"otel: {SPAN}: attribute 'client.address' must be a string, got boolean",
        ),
        (
            _set("gen_ai.input.messages", "[{not json"),
            f"otel: {SPAN}: attribute 'gen_ai.input.messages' is not valid JSON",
        ),
        (
            _set("gen_ai.input.messages", '{"role": "user"}'),
            f"otel: {SPAN}: attribute 'gen_ai.input.messages' must be an array, got object",
        ),
        (
            _set("gen_ai.input.messages", '[{"parts": []}]'),
            f"otel: {SPAN}: gen_ai.input.messages[0] must be an object with a string 'role'",
        ),
        (
            _set("gen_ai.prompt.0.role", 3),
            f"otel: field '{SPAN}.gen_ai.prompt[0].role' must be a string, got number",
        ),
        (
            _set("gen_ai.usage.input_tokens", "12"),
            f"otel: {SPAN}: attribute 'gen_ai.usage.input_tokens' must be an integer, got string",
        ),
        (
            _set("http.response.status_code", "429"),
            f"otel: {SPAN}: attribute 'http.response.status_code' must be an integer, got string",
        ),
        (
            _set("gen_ai.response.finish_reasons", 3),
            f"otel: {SPAN}: attribute 'gen_ai.response.finish_reasons' must be a string, "
            "got number",
        ),
    ],
)
def test_unmappable_exports_raise_with_reason(doc, mutate, reason):
    document = doc("otel", "message_events")
    mutate(document)
    with pytest.raises(AdapterError) as caught:
        list(adapter.records(document))
    assert caught.value.reason == reason


def test_structured_attribute_values_need_no_json_string(doc):
    """OTLP may carry gen_ai.input.messages as a structured value instead of a JSON string."""
    document = doc("otel", "message_events")
    structured = {
        "arrayValue": {
            "values": [
                {
                    "kvlistValue": {
                        "values": [
                            {"key": "role", "value": {"stringValue": "user"}},
                            {
                                "key": "parts",
                                "value": {
                                    "arrayValue": {
                                        "values": [
                                            {
                                                "kvlistValue": {
                                                    "values": [
                                                        {
                                                            "key": "type",
                                                            "value": {"stringValue": "text"},
                                                        },
                                                        {
                                                            "key": "content",
                                                            "value": {"stringValue": "hi"},
                                                        },
                                                    ]
                                                }
                                            }
                                        ]
                                    }
                                },
                            },
                        ]
                    }
                }
            ]
        }
    }
    _set("gen_ai.input.messages", {"key": "gen_ai.input.messages", "value": structured})(document)
    (record,) = adapter.records(document)
    assert record["request"]["messages"] == [{"role": "user", "content": "hi"}]
