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
