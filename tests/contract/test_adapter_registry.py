from __future__ import annotations

import copy
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.contract.adapters import ADAPTERS, Adapter, AdapterError, get_adapter
from distillguard.contract.adapters.common import (
    otlp_attributes,
    otlp_value,
    rfc3339_from_unix_nanos,
    rfc3339_from_unix_seconds,
)


def test_registry_names():
    assert set(ADAPTERS) == {"litellm", "anthropic", "otel"}
    for name, cls in ADAPTERS.items():
        adapter = get_adapter(name)
        assert isinstance(adapter, cls) and isinstance(adapter, Adapter)
        assert adapter.name == name


def test_unknown_adapter():
    with pytest.raises(
        ValueError, match=r"unknown adapter 'splunk' \(known: anthropic, litellm, otel\)"
    ):
        get_adapter("splunk")


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@pytest.mark.parametrize("document", [[], "text", 3, None])
def test_every_adapter_rejects_non_objects(name, document):
    with pytest.raises(AdapterError) as caught:
        list(get_adapter(name).records(document))
    assert caught.value.reason.startswith(f"{name}: document must be a JSON object, got ")
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("nanos", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (1_770_127_509_123_456_789, "2026-02-03T14:05:09.123456789Z"),
        (1_770_127_509_120_000_000, "2026-02-03T14:05:09.12Z"),
        (-1, "1969-12-31T23:59:59.999999999Z"),
        (-62_135_596_800 * 10**9, "0001-01-01T00:00:00Z"),  # the year keeps four digits
    ],
)
def test_rfc3339_from_nanos(nanos, text):
    assert rfc3339_from_unix_nanos(nanos) == text


def test_rfc3339_from_seconds():
    assert rfc3339_from_unix_seconds(1770127509) == "2026-02-03T14:05:09Z"
    assert rfc3339_from_unix_seconds(1770127509.000001) == "2026-02-03T14:05:09.000001Z"
    for bad in (math.nan, math.inf, 1e20):
        with pytest.raises((ValueError, OverflowError)):
            rfc3339_from_unix_seconds(bad)


def test_otlp_values():
    assert otlp_value({"stringValue": "a"}) == "a"
    assert otlp_value({"intValue": "-12"}) == -12
    assert otlp_value({"intValue": 12}) == 12
    assert otlp_value({"doubleValue": 0.5}) == 0.5
    assert math.isnan(otlp_value({"doubleValue": "NaN"}))
    assert otlp_value({"boolValue": False}) is False
    assert otlp_value({"bytesValue": "AAE="}) == "AAE="
    assert otlp_value({}) is None
    assert otlp_value({"arrayValue": {}}) == []
    assert otlp_value({"kvlistValue": {"values": [{"key": "k", "value": {"intValue": "1"}}]}}) == {
        "k": 1
    }
    for bad, reason in [
        ({"intValue": "1.5"}, "intValue '1.5' is not a number"),
        ({"intValue": True}, "intValue True is not a number"),
        ({"intValue": 1.5}, "intValue 1.5 is not a number"),
        ({"intValue": str(2**63)}, "intValue '9223372036854775808' is outside int64"),
        ("x", "an attribute value must be an object"),
    ]:
        with pytest.raises(ValueError, match=reason):
            otlp_value(bad)


def _encode(value):
    """The OTLP/JSON encoding of a plain value, as an exporter writes it."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [_encode(v) for v in value]}}
    return {"kvlistValue": {"values": [{"key": k, "value": _encode(v)} for k, v in value.items()]}}


_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(), _values, max_size=6))
def test_otlp_attributes_round_trip(attributes):
    encoded = [{"key": k, "value": _encode(v)} for k, v in attributes.items()]
    assert otlp_attributes(encoded) == attributes


# The values a JSON parser hands over (orjson, as ingest uses, turns wider integers to floats).
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(node, path=()):
    """Every place in a JSON document where a value sits."""
    yield path
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        yield from _paths(child, (*path, key))


_FIXTURES = {
    "litellm": "litellm_payloads.json",
    "anthropic": "anthropic_documents.json",
    "otel": "otel_exports.json",
}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_corruption_maps_or_raises_adapter_error(documents, check, data):
    """Ingest must never crash on a bad line: whatever a field holds, the adapter either
    maps the document to contract records or raises AdapterError with a reason."""
    name = data.draw(st.sampled_from(sorted(_FIXTURES)))
    fixtures = documents[name]
    document = copy.deepcopy(fixtures[data.draw(st.sampled_from(sorted(fixtures)))])
    path = data.draw(st.sampled_from(list(_paths(document))[1:]))
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(_json)
    try:
        records = list(get_adapter(name).records(document))
    except AdapterError as exc:
        assert exc.reason.startswith(f"{name}: ")
        return
    for record in records:
        check(record)
