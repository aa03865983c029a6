"""The guardrail's translation of LiteLLM's request data and responses, without LiteLLM: objects
shaped like LiteLLM's (pydantic, attribute access, `model_dump`) stand in for its own."""

from types import SimpleNamespace

import pytest
from pydantic import BaseModel

from distillguard.enforce import Action, Decision, Engine
from distillguard.enforce.context import key_account
from distillguard.enforce.litellm import hooks
from distillguard.enforce.safeguards import rewrites


@pytest.fixture
def engine():
    return Engine.from_config(None)


def _safeguarded(engine) -> Decision:
    return Decision(Action.SAFEGUARD, ("FLAGGED_ACCOUNT",), "DG-X", safeguards=rewrites(engine.policy.safeguards))


def _data(headers=None, ip="198.51.100.4", **body):
    body = {"model": "m", "messages": [{"role": "user", "content": "Solve 3x + 5 = 20 and show every step."}],
            **body}
    return {**body, "metadata": {"requester_ip_address": ip},
            "proxy_server_request": {"headers": headers or {}, "body": dict(body)}}


MASTER = SimpleNamespace(user_id=hooks.PROXY_ADMIN, token="litellm_proxy_master_key", team_id=None, org_id=None)


def test_the_keys_team_else_its_user_is_the_account_and_outranks_the_header(engine):
    # the LiteLLM log adapter's precedence, so a scan of LiteLLM's logs names the same accounts
    key = SimpleNamespace(user_id="user-42", token="hashed", team_id="team-7", org_id="org-1")
    ctx = hooks.request_context(engine, key, _data({"x-distillguard-account": "someone-else"}))
    assert (ctx.account_id, ctx.org_id, ctx.client_ip) == ("team-7", "org-1", "198.51.100.4")
    assert ctx.template is not None
    key = SimpleNamespace(user_id="user-42", token="hashed", team_id=None, org_id=None)
    assert hooks.request_context(engine, key, _data()).account_id == "user-42"


def test_with_the_master_key_a_trusted_header_names_the_account(engine):
    ctx = hooks.request_context(engine, MASTER, _data({"x-distillguard-account": "acct-9"}))
    assert ctx.account_id == "acct-9" and ctx.org_id is None


def test_an_untrusted_header_is_ignored_for_the_key_hash(engine):
    untrusting = Engine.from_config({"trust_account_header": False})
    ctx = hooks.request_context(untrusting, MASTER, _data({"x-distillguard-account": "acct-9"}))
    assert ctx.account_id == key_account("litellm_proxy_master_key")


def test_a_virtual_key_cannot_pass_for_another_account(engine):
    key = SimpleNamespace(user_id=None, token="hashed-virtual-key", team_id=None, org_id=None)
    ctx = hooks.request_context(engine, key, _data({"x-distillguard-account": "acct-benign",
                                                   "x-distillguard-org": "allow-listed-org"}))
    assert (ctx.account_id, ctx.org_id) == (key_account("hashed-virtual-key"), None)


def test_chat_caps_are_applied_to_the_very_dict_litellm_holds(engine):
    data = _data(max_tokens=8000, n=5, logprobs=True, top_logprobs=5, reasoning_effort="high")
    same = data
    hooks.cap_request(engine, data, _safeguarded(engine), "acompletion")
    assert data is same
    assert (data["max_tokens"], data["n"], data["reasoning_effort"]) == (1024, 1, "low")
    assert "logprobs" not in data and "top_logprobs" not in data
    assert data["metadata"] == {"requester_ip_address": "198.51.100.4"}  # LiteLLM's own keys survive


def test_responses_api_caps_use_its_own_names(engine):
    data = {"model": "m", "input": "hi", "max_output_tokens": 9000, "reasoning": {"effort": "high", "summary": "auto"}}
    hooks.cap_request(engine, data, _safeguarded(engine), "aresponses")
    assert data["max_output_tokens"] == 1024
    assert data["reasoning"] == {"effort": "low", "summary": "auto"}
    assert "max_tokens" not in data
    unbounded = {"model": "m", "input": "hi"}
    hooks.cap_request(engine, unbounded, _safeguarded(engine), "responses")
    assert unbounded["max_output_tokens"] == 1024  # no cap asked for is no cap at all


def test_calls_without_caps_and_plain_decisions_are_left_alone(engine):
    data = {"model": "m", "input": ["a", "b"]}
    hooks.cap_request(engine, data, _safeguarded(engine), "aembedding")
    assert data == {"model": "m", "input": ["a", "b"]}
    chat = _data(max_tokens=8000)
    hooks.cap_request(engine, chat, Decision(Action.MONITOR, ("HIGH_SCORE",), "DG-Y"), "acompletion")
    assert chat["max_tokens"] == 8000


def test_the_decision_travels_in_the_metadata(engine):
    data = _data()
    decision = _safeguarded(engine)
    hooks.stash(data, decision)
    assert hooks.stashed(data) == decision
    assert hooks.stashed(_data()) is None


class Message(BaseModel):
    content: str | None = None
    role: str = "assistant"
    reasoning_content: str | None = None
    thinking_blocks: list | None = None


class Choice(BaseModel):
    index: int = 0
    message: Message | None = None
    delta: Message | None = None
    logprobs: dict | None = None


class Response(BaseModel):
    choices: list[Choice]


REASONING = "First, restate the problem. Then isolate x. Then divide. Finally, check by substitution."


def test_reasoning_and_logprobs_are_withheld_from_a_safeguarded_answer(engine):
    r = Response(choices=[Choice(message=Message(content="x = 5", reasoning_content=REASONING,
                                                 thinking_blocks=[{"type": "thinking", "thinking": REASONING}]),
                                 logprobs={"content": []})])
    ctx = hooks.request_context(engine, MASTER, _data({"x-distillguard-account": "a"}))
    hooks.withhold(engine, r, _safeguarded(engine), ctx)
    m = r.choices[0].message
    assert (m.content, m.reasoning_content, m.thinking_blocks, r.choices[0].logprobs) == ("x = 5", None, None, None)


def test_summarise_keeps_only_the_engines_summary(engine):
    summarising = Engine.from_config({"safeguards": {"reasoning": "summarise"}})
    r = Response(choices=[Choice(message=Message(content="x = 5", reasoning_content=REASONING))])
    ctx = hooks.request_context(summarising, MASTER, _data({"x-distillguard-account": "a"}))
    hooks.withhold(summarising, r, _safeguarded(summarising), ctx)
    assert r.choices[0].message.reasoning_content == "First, restate the problem. … Finally, check by substitution."


def test_stream_chunks_lose_their_reasoning_deltas(engine):
    chunk = Response(choices=[Choice(delta=Message(role="assistant", reasoning_content=REASONING))])
    hooks.withhold(engine, chunk, _safeguarded(engine))
    assert chunk.choices[0].delta.reasoning_content is None
    plain = Response(choices=[Choice(delta=Message(content="x"))])
    hooks.withhold(engine, plain, Decision(Action.ALLOW))
    assert plain.choices[0].delta.content == "x"


class Summary(BaseModel):
    type: str = "summary_text"
    text: str


class ReasoningItem(BaseModel):
    id: str
    type: str = "reasoning"
    summary: list[Summary]
    content: list[dict] | None = None
    encrypted_content: str | None = None


class OutputText(BaseModel):
    type: str = "output_text"
    text: str
    logprobs: list[dict] | None = None


class MessageItem(BaseModel):
    id: str
    type: str = "message"
    role: str = "assistant"
    content: list[OutputText]


class ResponsesAnswer(BaseModel):
    id: str = "resp_1"
    object: str = "response"
    output: list[ReasoningItem | MessageItem]


class SummaryDelta(BaseModel):
    type: str = "response.reasoning_summary_text.delta"
    item_id: str = "rs_1"
    delta: str


def test_responses_api_answers_lose_their_reasoning_text_but_keep_their_shape(engine):
    r = ResponsesAnswer(output=[
        ReasoningItem(id="rs_1", summary=[Summary(text=REASONING)], content=[{"type": "reasoning_text",
                                                                               "text": REASONING}],
                      encrypted_content="opaque"),
        MessageItem(id="msg_1", content=[OutputText(text="x = 5", logprobs=[{"token": "x", "logprob": -0.1}])])])
    ctx = hooks.request_context(engine, MASTER, _data({"x-distillguard-account": "a"}))
    hooks.withhold(engine, r, _safeguarded(engine), ctx)
    reasoning, message = r.output
    assert isinstance(reasoning, ReasoningItem) and isinstance(message, MessageItem)
    assert (reasoning.id, reasoning.summary, reasoning.content, reasoning.encrypted_content) == \
        ("rs_1", [], None, "opaque")
    assert message.content[0].text == "x = 5" and not message.content[0].logprobs


def test_responses_api_summarise_and_stream_events(engine):
    summarising = Engine.from_config({"safeguards": {"reasoning": "summarise"}})
    r = ResponsesAnswer(output=[ReasoningItem(id="rs_1", summary=[Summary(text=REASONING)])])
    ctx = hooks.request_context(summarising, MASTER, _data({"x-distillguard-account": "a"}))
    hooks.withhold(summarising, r, _safeguarded(summarising), ctx)
    assert [s.text for s in r.output[0].summary] == ["First, restate the problem. … Finally, check by substitution."]
    event = SummaryDelta(delta="First, restate")
    hooks.withhold(engine, event, _safeguarded(engine))
    assert (event.type, event.item_id, event.delta) == ("response.reasoning_summary_text.delta", "rs_1", "")
    untouched = SummaryDelta(delta="First, restate")
    hooks.withhold(engine, untouched, Decision(Action.ALLOW))
    assert untouched.delta == "First, restate"
