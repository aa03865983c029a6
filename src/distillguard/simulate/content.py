"""Request content: one method per kind of task, each returning a `Conv`.

Messages are built in OpenAI chat form; `exchange.py` converts them for the `messages`
endpoint. Benign and campaign archetypes call the same methods; what differs is the mix,
the templates around the text and the behaviour around the request.
"""

from __future__ import annotations

import base64
import random
import re
from typing import NamedTuple

import orjson

from . import phrasing as ph
from .corpora import Corpus

IMAGE_CHARS = 4400  # an image costs roughly 1,100 input tokens; counted as characters (4 per token)


class Conv(NamedTuple):
    messages: list  # OpenAI chat-form messages
    tools: tuple | None  # OpenAI-form tool definitions
    chars: int  # prompt text size, for token counts
    out: int  # typical output tokens for this kind of task
    answer: str  # plausible output text (kept only when the response stores content)


def size(messages: list) -> int:
    n = 0
    for m in messages:
        c = m.get("content")
        if isinstance(c, str):
            n += len(c)
        elif c:
            n += sum(len(p["text"]) if p["type"] == "text" else IMAGE_CHARS for p in c)
        for tc in m.get("tool_calls", ()):
            n += len(tc["function"]["arguments"]) + 20
    return n + 16 * len(messages)


def user(text: str) -> dict:
    return {"role": "user", "content": text}


class Content:
    def __init__(self, corpus: Corpus, rng: random.Random, bank: str):
        self.c, self.r, self.bank = corpus, rng, bank
        self.judge_templates = corpus.judge[bank]

    def conv(self, messages: list, out: int, answer: str = "", tools: tuple | None = None) -> Conv:
        extra = sum(len(t["function"]["description"]) + 120 for t in tools) if tools else 0
        return Conv(messages, tools, size(messages) + extra, out, answer or self.r.choice(ph.GENERIC_ANSWER))

    # ordinary traffic -------------------------------------------------------------------
    def chat(self, system: str | None = None) -> Conv:
        r = self.r
        head = [{"role": "system", "content": system}] if system else []
        if r.random() < 0.3:
            pairs = r.choice(self.c.convs)
            return self.thread(pairs, r.randrange(1, len(pairs)), system)
        if r.random() < 0.6:
            q = r.choice(self.c.chat)
            return self.conv(head + [user(q)], 380)
        q, a = r.choice(self.c.answers)
        return self.conv(head + [user(q)], 300, a)

    def thread(self, pairs: tuple, turn: int, system: str | None = None) -> Conv:
        """Turn `turn` of a real conversation, resending the history as chat clients do."""
        if turn >= len(pairs):
            return self.chat(system)
        head = [{"role": "system", "content": system}] if system else []
        msgs = head + [m for h, a in pairs[:turn] for m in (user(h), {"role": "assistant", "content": a})]
        return self.conv(msgs + [user(pairs[turn][0])], 420, pairs[turn][1])

    def instruction(self, system: str | None = None) -> Conv:
        head = [{"role": "system", "content": system}] if system else []
        return self.conv(head + [user(self.r.choice(self.c.instructions))], 260)

    def code(self) -> Conv:
        return self.conv([user(self.r.choice(self.c.code))], 520, self.r.choice(self.c.snippets))

    def rag(self) -> Conv:
        ctx = "\n\n".join(a for _, a in self.r.sample(self.c.answers, 3))
        q = self.r.choice(self.c.chat)
        return self.conv([{"role": "system", "content": "You are the internal knowledge assistant."},
                          user(ph.RAG.format(ctx=ctx, q=q))], 220)

    def analysis(self) -> Conv:
        r = self.r
        header, row = r.choice(ph.TABLES)
        table = "\n".join([header] + [row(r) for _ in range(r.randint(8, 30))])
        return self.conv([user(f"{table}\n\n{r.choice(ph.ANALYSIS_Q)}")], 450)

    def image(self) -> dict:
        r = self.r
        if r.random() < 0.5:
            return {"type": "image_url", "image_url": {"url": f"https://files.example-cdn.com/u/{r.getrandbits(64):016x}.jpg"}}
        blob = base64.b64encode(r.randbytes(60)).decode()
        return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA{blob}"}}

    def vision(self) -> Conv:
        q = self.r.choice(ph.VISION_Q)
        return self.conv([{"role": "user", "content": [{"type": "text", "text": q}, self.image()]}], 350)

    def homework(self, topic: int) -> Conv:
        r = self.r
        tpl, slots = ph.HOMEWORK[topic % len(ph.HOMEWORK)]
        q = tpl.format(n=r.randint(5, 40), m=r.choice(slots))
        return self.conv([user(r.choice(ph.HOMEWORK_FORMS).format(q=q))], 480)

    def jailbreak(self) -> Conv:
        q = self.r.choice(ph.JAILBREAK).format(x=self.r.choice(ph.FORBIDDEN))
        return self.conv([user(q)], 60, "I can't help with that.")

    def app(self, system: str) -> Conv:
        return self.chat(system) if self.r.random() < 0.8 else self.instruction(system)

    def benchmark(self, suite: int, item: int) -> Conv:
        """An eval item under the suite's fixed format; items repeat across models."""
        r = random.Random(suite * 1_000_003 + item)  # same item, same text, whichever model is being evaluated
        kind = suite % 4
        if kind == 0:
            a, b, c, d = (r.randint(2, 90) for _ in range(4))
            q = r.choice(ph.MATH).format(a=a, b=b, c=c, d=d)
        elif kind == 1:
            q = r.choice(self.c.instructions)
        elif kind == 2:
            return self.judge(r)
        else:
            msgs, tools = r.choice(self.c.tools)
            return self.conv(list(msgs), 80, tools=tools)
        fmt = ph.BENCH[self.bank][suite % len(ph.BENCH[self.bank])]
        return self.conv([user(fmt.format(q=q))], 320)

    # harvesting-shaped traffic ----------------------------------------------------------
    def cot(self, q: str | None = None) -> Conv:
        r = self.r
        if q is None:
            pool = (self.c.instructions, self.c.chat, self.c.code)[r.randrange(3)]
            q = r.choice(pool)
        text = r.choice(ph.COT_FORMS[self.bank]).format(q=q, w=r.choice(ph.COT[self.bank]))
        return self.conv([user(text)], 1400)

    def judge(self, r: random.Random | None = None) -> Conv:
        """LLM-as-judge request: the model used as a reward model on two candidates."""
        r = r or self.r
        tpl = r.choice(self.judge_templates)
        cur: dict = {}

        def fill(m: re.Match) -> str:
            # Batched templates repeat the three slots; each {instruction} starts a new comparison.
            if m.group(1) == "instruction" or not cur:
                q, a1 = r.choice(self.c.answers)
                a2 = r.choice(self.c.answers)[1]
                cur.update(q=q, outs=(a1, a2))
                if m.group(1) == "instruction":
                    return q
            return cur["outs"][m.group(1) == "output_2"][:900]

        text = re.sub(r"\{(instruction|output_1|output_2)\}", fill, tpl)
        msgs = [{"role": role, "content": body.strip()} for role, body in
                re.findall(r"<\|im_start\|>(system|user|assistant)\n(.*?)<\|im_end\|>", text, re.S)] or [user(text)]
        return self.conv(msgs, 90)

    def censor(self) -> Conv:
        q = self.r.choice(ph.SENSITIVE)
        return self.conv([user(self.r.choice(ph.REWRITE[self.bank]).format(q=q))], 700)

    def probe(self, i: int) -> Conv:
        """Systematic capability coverage: item i walks the domain x skill grid in order."""
        r = self.r
        d, s = ph.DOMAINS[i % len(ph.DOMAINS)], ph.SKILLS[(i // len(ph.DOMAINS)) % len(ph.SKILLS)]
        q = r.choice(self.c.code if s in ("write code", "debug") else self.c.instructions)
        return self.conv([user(r.choice(ph.PROBE[self.bank]).format(i=i, d=d, s=s, q=q))], 900)

    def meta(self) -> Conv:
        return self.conv([user(self.r.choice(self.c.meta))], 1800)

    # tool use ---------------------------------------------------------------------------
    def _args(self, fn: dict, question: str) -> dict:
        """Plausible arguments: enum members, numbers, and words taken from the user's question."""
        r, props = self.r, fn["function"]["parameters"].get("properties", {})
        words = [t.strip(".,?!'\"") for t in question.split() if len(t) > 3] or list(ph.CITIES)
        out = {}
        for name in fn["function"]["parameters"].get("required", list(props)[:1]):
            t = props.get(name, {})
            typ = t.get("type")
            out[name] = (r.choice(t["enum"]) if "enum" in t else r.randint(1, 500) if typ == "integer"
                         else round(r.uniform(0, 100), 2) if typ == "number" else r.random() < 0.5 if typ == "boolean"
                         else [] if typ == "array" else {} if typ == "object" else r.choice(words))
        return out

    def tool_call(self, fn: dict, args: dict | str) -> dict:
        """args: the arguments, or the user's question to derive them from."""
        args = self._args(fn, args) if isinstance(args, str) else args
        return {"id": f"call_{self.r.getrandbits(96):024x}", "type": "function",
                "function": {"name": fn["function"]["name"], "arguments": orjson.dumps(args).decode()}}

    def tools(self) -> Conv:
        """A function-calling request: first turn, or after the model called tools and got results."""
        r = self.r
        msgs, tools = r.choice(self.c.tools)
        msgs = list(msgs)
        if r.random() < 0.45:
            q = next((m["content"] for m in msgs if m["role"] == "user"), "")
            calls = [self.tool_call(r.choice(tools), q) for _ in range(1 + (r.random() < 0.3))]
            msgs.append({"role": "assistant", "content": None, "tool_calls": calls})
            for tc in calls:
                result = {"status": "ok", "value": r.randint(1, 10_000), "unit": r.choice(("ms", "USD", "items", "C"))}
                msgs.append({"role": "tool", "tool_call_id": tc["id"], "content": orjson.dumps(result).decode()})
            return self.conv(msgs, 120, tools=tools)
        return self.conv(msgs, 60, tools=tools)

    def computer(self) -> Conv:
        r = self.r
        task = r.choice(ph.COMPUTER_TASK).format(n=r.randint(2, 6), city=r.choice(ph.CITIES))
        tool = {"type": "function", "function": {"name": "computer", "description": "Control the desktop: screenshot, click, type, scroll.",
                "parameters": {"type": "object", "properties": {"action": {"type": "string", "enum": ["screenshot", "click", "type", "scroll", "key"]},
                               "x": {"type": "integer"}, "y": {"type": "integer"}, "text": {"type": "string"}}, "required": ["action"]}}}
        msgs = [user(task)]
        for _ in range(r.randrange(0, 4)):
            call = self.tool_call(tool, {"action": r.choice(("click", "type", "scroll")), "x": r.randint(0, 1280), "y": r.randint(0, 800)})
            msgs.append({"role": "assistant", "content": None, "tool_calls": [call]})
            msgs.append({"role": "tool", "tool_call_id": call["id"], "content": "screenshot attached"})
        msgs.append({"role": "user", "content": [{"type": "text", "text": "Current screen:"}, self.image()]})
        return self.conv(msgs, 90, tools=(tool,))


AGENT_TOOLS = tuple({"type": "function", "function": {"name": n, "description": d, "parameters": {"type": "object", "properties": p, "required": list(p)[:1]}}}
                    for n, d, p in (
    ("read_file", "Read a file from the workspace.", {"path": {"type": "string"}}),
    ("write_file", "Create or overwrite a file.", {"path": {"type": "string"}, "content": {"type": "string"}}),
    ("run_command", "Run a shell command and return its output.", {"command": {"type": "string"}, "timeout": {"type": "integer"}}),
    ("search_code", "Search the repository for a pattern.", {"pattern": {"type": "string"}, "glob": {"type": "string"}}),
))
FILES = ("src/app.py", "src/utils.py", "tests/test_app.py", "package.json", "src/index.ts", "README.md", "lib/parser.go", "Makefile")
COMMANDS = ("pytest -q", "npm test", "go test ./...", "git diff --stat", "ls -la src", "make build")


class AgentSession:
    """A coding-agent conversation that grows by one tool round per request."""

    def __init__(self, content: Content, system: str, task: str, max_rounds: int):
        self.k, self.rounds, self.max_rounds = content, 0, max_rounds
        self.messages = [{"role": "system", "content": system}, user(task)]

    def step(self) -> Conv:
        conv = self.k.conv(list(self.messages), 380, tools=AGENT_TOOLS)
        r = self.k.r
        tool = r.choice(AGENT_TOOLS)
        name = tool["function"]["name"]
        args = {"path": r.choice(FILES)} if name in ("read_file", "write_file") else (
            {"command": r.choice(COMMANDS)} if name == "run_command" else {"pattern": r.choice(("TODO", "def main", "import", "error"))})
        call = self.k.tool_call(tool, args)
        result = r.choice(self.k.c.snippets)[:800] if name != "run_command" else f"{r.randint(1, 60)} passed, {r.randint(0, 3)} failed"
        self.messages += [{"role": "assistant", "content": None, "tool_calls": [call]},
                          {"role": "tool", "tool_call_id": call["id"], "content": result}]
        self.rounds += 1
        return conv

    @property
    def done(self) -> bool:
        return self.rounds >= self.max_rounds
