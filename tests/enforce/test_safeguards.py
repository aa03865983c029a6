import copy

from distillguard.enforce import Action, Decision, Engine
from distillguard.enforce.safeguards import rewrite_request, rewrite_response, summarise
from tests.enforce.helpers import BODY, ctx

SG = {"max_tokens": 1024, "n": 1, "logprobs": False, "reasoning_effort": "low", "reasoning": "strip",
      "summary_chars": 240}
TRACE = "First, isolate x. Then subtract five from both sides. Divide by three. So x is five."
RESPONSE = {"choices": [{"index": 0, "logprobs": {"content": []},
                         "message": {"role": "assistant", "content": "x = 5", "reasoning_content": TRACE}}]}


def test_request_caps():
    original = copy.deepcopy(BODY)
    out = rewrite_request(BODY, SG)
    assert BODY == original  # not mutated
    assert (out["max_tokens"], out["n"], out["reasoning_effort"]) == (1024, 1, "low")
    assert "logprobs" not in out and "top_logprobs" not in out
    assert out["messages"] == BODY["messages"]
    small = rewrite_request({"max_completion_tokens": 100, "reasoning_effort": "minimal"}, SG)
    assert small == {"max_completion_tokens": 100, "reasoning_effort": "minimal"}  # never raised
    assert rewrite_request({"messages": []}, SG)["max_tokens"] == 1024  # absent cap is added
    anthropic = rewrite_request({"max_tokens": 64000, "thinking": {"type": "enabled", "budget_tokens": 32000}}, SG)
    assert anthropic["thinking"]["budget_tokens"] == 1024
    assert rewrite_request(BODY, {}) is BODY


def test_response_reasoning_strip_and_summary():
    stripped = rewrite_response(RESPONSE, SG)
    assert stripped["choices"][0]["message"] == {"role": "assistant", "content": "x = 5"}
    assert "logprobs" not in stripped["choices"][0]
    assert RESPONSE["choices"][0]["message"]["reasoning_content"] == TRACE
    summary = rewrite_response(RESPONSE, {**SG, "reasoning": "summarise"})["choices"][0]["message"]
    assert summary["reasoning_content"] == "First, isolate x. … So x is five."
    assert summarise("word " * 200, 50).endswith("…") and len(summarise("word " * 200, 50)) == 50
    kept = rewrite_response(RESPONSE, {**SG, "reasoning": "keep", "logprobs": True})
    assert kept is RESPONSE


def test_anthropic_thinking_blocks_and_stream_chunks():
    msg = {"content": [{"type": "thinking", "thinking": TRACE, "signature": "sig"}, {"type": "text", "text": "5"}]}
    assert rewrite_response(msg, SG)["content"] == [{"type": "text", "text": "5"}]
    summ = rewrite_response(msg, {**SG, "reasoning": "summarise"})["content"]
    assert summ[0]["type"] == "text" and summ[0]["text"].startswith("[reasoning summary] First")
    chunk = {"choices": [{"index": 0, "delta": {"reasoning_content": "step 1"}}]}
    # a stream cannot be summarised before it ends: reasoning deltas are dropped either way
    assert rewrite_response(chunk, {**SG, "reasoning": "summarise"}, stream=True)["choices"][0]["delta"] == {}


def test_responses_api_request_caps_its_own_fields():
    body = {"model": "m", "input": "Solve 3x+5=20.", "max_output_tokens": 32000, "top_logprobs": 5,
            "reasoning": {"effort": "high", "summary": "detailed"},
            "include": ["reasoning.encrypted_content", "message.output_text.logprobs"]}
    out = rewrite_request(body, SG)
    assert out["max_output_tokens"] == 1024 and "max_tokens" not in out   # the API rejects max_tokens
    assert out["reasoning"] == {"effort": "low", "summary": "detailed"} and "top_logprobs" not in out
    assert out["include"] == ["reasoning.encrypted_content"]
    assert rewrite_request({"input": "hi"}, SG) == {"input": "hi", "max_output_tokens": 1024}


REASONING_ITEM = {"type": "reasoning", "id": "rs_1", "encrypted_content": "opaque",
                  "summary": [{"type": "summary_text", "text": TRACE}],
                  "content": [{"type": "reasoning_text", "text": "raw " + TRACE}]}
MESSAGE_ITEM = {"type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": "x = 5", "logprobs": [{"token": "x"}]}]}


def test_responses_api_reasoning_items_and_logprobs_are_withheld():
    response = {"object": "response", "output": [REASONING_ITEM, MESSAGE_ITEM]}
    out = rewrite_response(response, SG)
    assert out["output"][0] == {"type": "reasoning", "id": "rs_1", "encrypted_content": "opaque", "summary": []}
    assert out["output"][1]["content"] == [{"type": "output_text", "text": "x = 5"}]
    assert response["output"][0]["content"]   # not mutated
    summary = rewrite_response(response, {**SG, "reasoning": "summarise"})["output"][0]
    assert summary["summary"] == [{"type": "summary_text", "text": "First, isolate x. … So x is five."}]
    assert "content" not in summary


def test_responses_api_stream_events_lose_reasoning_text_but_keep_their_shape():
    delta = {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "delta": "First, isolate"}
    assert rewrite_response(delta, SG, stream=True) == {**delta, "delta": ""}
    part = {"type": "response.reasoning_summary_part.done", "part": {"type": "summary_text", "text": TRACE}}
    assert rewrite_response(part, SG, stream=True)["part"] == {"type": "summary_text", "text": ""}
    done = {"type": "response.output_item.done", "item": REASONING_ITEM}
    assert rewrite_response(done, {**SG, "reasoning": "summarise"}, stream=True)["item"]["summary"] == []
    completed = {"type": "response.completed", "response": {"output": [REASONING_ITEM, MESSAGE_ITEM]}}
    out = rewrite_response(completed, SG, stream=True)["response"]["output"]
    assert out[0]["summary"] == [] and "logprobs" not in out[1]["content"][0]
    text = {"type": "response.output_text.delta", "delta": "x", "logprobs": [{"token": "x"}]}
    assert rewrite_response(text, SG, stream=True) == {"type": "response.output_text.delta", "delta": "x"}


def test_engine_safeguard_decision_carries_policy_caps(scan_dir):
    engine = Engine.from_config(None, scan=scan_dir)
    d = engine.decide(ctx("f1"))
    assert d.action is Action.SAFEGUARD and d.safeguards["max_tokens"] == 1024
    assert engine.apply_safeguards(BODY, d)["n"] == 1
    assert "reasoning_content" not in engine.observe_response(ctx("f1"), RESPONSE, d)["choices"][0]["message"]
    # without the pre-call decision the engine looks it up again, without counting the request
    before = engine.state.observe(_obs("f1"), engine._windows).account_rate
    assert "reasoning_content" not in engine.observe_response(ctx("f1"), RESPONSE)["choices"][0]["message"]
    assert engine.state.observe(_obs("f1"), engine._windows).account_rate == before
    allow = Decision(Action.ALLOW)
    assert engine.observe_response(ctx("u1"), RESPONSE, allow) is RESPONSE


def _obs(account):
    from distillguard.enforce.state import Observation
    return Observation(account, 1_770_000_000.0, record=False)
