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
    """Picks use `seq[int(random() * len(seq))]`: several times faster than random.choice, same determinism."""

    def __init__(self, corpus: Corpus, rng: random.Random, bank: str):
        self.c, self.r, self.bank = corpus, rng, bank
        self.judge_templates = [_parse_judge(t) for t in corpus.judge[bank]]
        self._tables: list[str] = []
        self._words: dict[str, list[str]] = {}
        self._tool_chars: dict[int, int] = {}

    def p(self, seq):
        return seq[int(self.r.random() * len(seq))]

    def conv(self, messages: list, out: int, answer: str = "", tools: tuple | None = None,
             chars: int | None = None) -> Conv:
        if chars is None:
            chars = size(messages)
        if tools:
            extra = self._tool_chars.get(id(tools))
            if extra is None:  # tool tuples live as long as the corpus, so id() is a stable key
                extra = self._tool_chars[id(tools)] = sum(len(t["function"]["description"]) + 120 for t in tools)
            chars += extra
        return Conv(messages, tools, chars, out, answer or self.p(ph.GENERIC_ANSWER))

    def ask(self, text: str, out: int, answer: str = "") -> Conv:
        return Conv([{"role": "user", "content": text}], None, len(text) + 16, out, answer or self.p(ph.GENERIC_ANSWER))

    # ordinary traffic -------------------------------------------------------------------
    def chat(self, system: str | None = None) -> Conv:
        r = self.r
        x = r.random()
        if x < 0.3:
            pairs = self.p(self.c.convs)
            return self.thread(pairs, 1 + int(r.random() * (len(pairs) - 1)), system)
        q, a = (self.p(self.c.chat), "") if x < 0.72 else self.p(self.c.answers)
        if system:
            return self.conv([{"role": "system", "content": system}, user(q)], 380, a)
        return self.ask(q, 380, a)

    def thread(self, pairs: tuple, turn: int, system: str | None = None) -> Conv:
        """Turn `turn` of a real conversation, resending the history as chat clients do."""
        if turn >= len(pairs):
            return self.chat(system)
        head = [{"role": "system", "content": system}] if system else []
        msgs = head + [m for h, a in pairs[:turn] for m in (user(h), {"role": "assistant", "content": a})]
        return self.conv(msgs + [user(pairs[turn][0])], 420, pairs[turn][1])

    def instruction(self, system: str | None = None) -> Conv:
        q = self.p(self.c.instructions)
        if system:
            return self.conv([{"role": "system", "content": system}, user(q)], 260)
        return self.ask(q, 260)

    def code(self) -> Conv:
        return self.ask(self.p(self.c.code), 520, self.p(self.c.snippets))

    def rag(self) -> Conv:
        ctx = "\n\n".join(self.p(self.c.answers)[1] for _ in range(3))
        return self.conv([{"role": "system", "content": "You are the internal knowledge assistant."},
                          user(ph.RAG.format(ctx=ctx, q=self.p(self.c.chat)))], 220)

    def analysis(self) -> Conv:
        if not self._tables:  # a pool of generated tables: building rows per request is slow
            r = self.r
            for _ in range(64):
                header, row = self.p(ph.TABLES)
                self._tables.append("\n".join([header] + [row(r) for _ in range(r.randint(8, 30))]))
        return self.ask(f"{self.p(self._tables)}\n\n{self.p(ph.ANALYSIS_Q)}", 450)

    def image(self) -> dict:
        r = self.r
        if r.random() < 0.5:
            url = f"https://files.example-cdn.com/u/{r.getrandbits(64):016x}.jpg"
            return {"type": "image_url", "image_url": {"url": url}}
        blob = base64.b64encode(r.randbytes(60)).decode()
        return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA{blob}"}}

    def vision(self) -> Conv:
        q = self.p(ph.VISION_Q)
        msg = {"role": "user", "content": [{"type": "text", "text": q}, self.image()]}
        return self.conv([msg], 350, chars=len(q) + IMAGE_CHARS)

    def homework(self, topic: int) -> Conv:
        tpl, slots = ph.HOMEWORK[topic % len(ph.HOMEWORK)]
        q = tpl.format(n=self.r.randint(5, 40), m=self.p(slots))
        return self.ask(self.p(ph.HOMEWORK_FORMS).format(q=q), 480)

    def jailbreak(self) -> Conv:
        return self.ask(self.p(ph.JAILBREAK).format(x=self.p(ph.FORBIDDEN)), 60, "I can't help with that.")

    def app(self, system: str) -> Conv:
        return self.chat(system) if self.r.random() < 0.8 else self.instruction(system)

    def benchmark(self, suite: int, item: int) -> Conv:
        """Item `item` of a fixed eval suite: the same item always has the same text, so
        reruns and other models under test see identical prompts."""
        key = suite * 1_000_003 + item * 7_919
        kind = suite % 4
        if kind == 0:
            a, b, c, d = (2 + (key >> s) % 89 for s in (0, 3, 6, 9))
            q = ph.MATH[key % len(ph.MATH)].format(a=a, b=b, c=c, d=d)
        elif kind == 1:
            q = self.c.instructions[key % len(self.c.instructions)]
        elif kind == 2:
            return self.judge(random.Random(key))
        else:
            msgs, tools = self.c.tools[key % len(self.c.tools)]
            return self.conv(list(msgs), 80, tools=tools)
        return self.ask(ph.BENCH[self.bank][suite % len(ph.BENCH[self.bank])].format(q=q), 320)

    # harvesting-shaped traffic ----------------------------------------------------------
    def cot(self) -> Conv:
        pool = (self.c.instructions, self.c.chat, self.c.code)[int(self.r.random() * 3)]
        return self.ask(self.p(ph.COT_FORMS[self.bank]).format(q=self.p(pool), w=self.p(ph.COT[self.bank])), 1400)

    def judge(self, r: random.Random | None = None) -> Conv:
        """LLM-as-judge request (the model as a reward model): a real template, two candidates."""
        r = r or self.r
        tpl, answers = self.judge_templates[int(r.random() * len(self.judge_templates))], self.c.answers
        msgs, n = [], 0
        for role, parts in tpl:
            out = []
            for i, part in enumerate(parts):
                if i % 2 == 0:
                    out.append(part)
                elif part == "instruction":  # batched templates repeat the slots: each starts a new comparison
                    q, a1 = answers[int(r.random() * len(answers))]
                    a2 = answers[int(r.random() * len(answers))][1]
                    out.append(q)
                else:
                    out.append((a1 if part == "output_1" else a2)[:900])
            text = "".join(out).strip()
            n += len(text) + 16
            msgs.append({"role": role, "content": text})
        return self.conv(msgs, 90, chars=n)

    def censor(self) -> Conv:
        return self.ask(self.p(ph.REWRITE[self.bank]).format(q=self.p(ph.SENSITIVE)), 700)

    def probe(self, i: int) -> Conv:
        """Systematic capability coverage: item i walks the domain x skill grid in order."""
        d, s = ph.DOMAINS[i % len(ph.DOMAINS)], ph.SKILLS[(i // len(ph.DOMAINS)) % len(ph.SKILLS)]
        q = self.p(self.c.code if s in ("write code", "debug") else self.c.instructions)
        return self.ask(self.p(ph.PROBE[self.bank]).format(i=i, d=d, s=s, q=q), 900)

    def meta(self) -> Conv:
        return self.ask(self.p(self.c.meta), 1800)

    # tool use ---------------------------------------------------------------------------
    def _args(self, fn: dict, question: str) -> dict:
        """Plausible arguments: enum members, numbers, and words taken from the user's question."""
        r, params = self.r, fn["function"]["parameters"]
        props = params.get("properties", {})
        words = self._words.get(question)
        if words is None:
            words = [t.strip(".,?!'\"") for t in question.split() if len(t) > 3] or list(ph.CITIES)
            self._words[question] = words
        out = {}
        for name in params.get("required", list(props)[:1]):
            t = props.get(name, {})
            typ = t.get("type")
            out[name] = (self.p(t["enum"]) if "enum" in t else r.randint(1, 500) if typ == "integer"
                         else round(r.uniform(0, 100), 2) if typ == "number" else r.random() < 0.5 if typ == "boolean"
                         else [] if typ == "array" else {} if typ == "object" else self.p(words))
        return out

    def tool_call(self, fn: dict, args: dict | str) -> dict:
        """args: the arguments, or the user's question to derive them from."""
        args = self._args(fn, args) if isinstance(args, str) else args
        return {"id": f"call_{self.r.getrandbits(96):024x}", "type": "function",
                "function": {"name": fn["function"]["name"], "arguments": orjson.dumps(args).decode()}}

    def tools(self) -> Conv:
        """A function-calling request: first turn, or after the model called tools and got results."""
        r = self.r
        msgs, tools = self.p(self.c.tools)
        msgs = list(msgs)
        if r.random() < 0.45:
            q = msgs[-1]["content"]
            calls = [self.tool_call(self.p(tools), q) for _ in range(1 + (r.random() < 0.3))]
            msgs.append({"role": "assistant", "content": None, "tool_calls": calls})
            for tc in calls:
                result = {"status": "ok", "value": r.randint(1, 10_000), "unit": self.p(("ms", "USD", "items", "C"))}
                msgs.append({"role": "tool", "tool_call_id": tc["id"], "content": orjson.dumps(result).decode()})
            return self.conv(msgs, 120, tools=tools)
        return self.conv(msgs, 60, tools=tools)

    def computer(self) -> Conv:
        r = self.r
        task = self.p(ph.COMPUTER_TASK).format(n=r.randint(2, 6), city=self.p(ph.CITIES))
        msgs = [user(task)]
        for _ in range(r.randrange(0, 4)):
            action = {"action": self.p(("click", "type", "scroll")), "x": r.randint(0, 1280), "y": r.randint(0, 800)}
            call = self.tool_call(COMPUTER, action)
            msgs.append({"role": "assistant", "content": None, "tool_calls": [call]})
            msgs.append({"role": "tool", "tool_call_id": call["id"], "content": "screenshot attached"})
        msgs.append({"role": "user", "content": [{"type": "text", "text": "Current screen:"}, self.image()]})
        return self.conv(msgs, 90, tools=COMPUTER_TOOLS)


def _parse_judge(tpl: str) -> list[tuple[str, list[str]]]:
    """A judge template as chat turns, each split into text and slot names (alternating).
    ChatML templates become system/user/assistant messages; others one user message."""
    turns = re.findall(r"<\|im_start\|>(system|user|assistant)\n(.*?)<\|im_end\|>", tpl, re.S) or [("user", tpl)]
    return [(role, re.split(r"\{(instruction|output_1|output_2)\}", body)) for role, body in turns]


COMPUTER = {"type": "function", "function": {
    "name": "computer", "description": "Control the desktop: screenshot, click, type, scroll.",
    "parameters": {"type": "object", "required": ["action"], "properties": {
        "action": {"type": "string", "enum": ["screenshot", "click", "type", "scroll", "key"]},
        "x": {"type": "integer"}, "y": {"type": "integer"}, "text": {"type": "string"}}}}}
COMPUTER_TOOLS = (COMPUTER,)


AGENT_TOOLS = tuple({"type": "function", "function": {
    "name": n, "description": d, "parameters": {"type": "object", "properties": p, "required": list(p)[:1]}}}
    for n, d, p in (
    ("read_file", "Read a file from the workspace.", {"path": {"type": "string"}}),
    ("write_file", "Create or overwrite a file.", {"path": {"type": "string"}, "content": {"type": "string"}}),
    ("run_command", "Run a shell command and return its output.",
     {"command": {"type": "string"}, "timeout": {"type": "integer"}}),
    ("search_code", "Search the repository for a pattern.",
     {"pattern": {"type": "string"}, "glob": {"type": "string"}}),
))
FILES = ("src/app.py", "src/utils.py", "tests/test_app.py", "package.json", "src/index.ts", "README.md", "lib/parser.go",
         "Makefile")
COMMANDS = ("pytest -q", "npm test", "go test ./...", "git diff --stat", "ls -la src", "make build")
PATTERNS = ("TODO", "def main", "import", "error")


class AgentSession:
    """A coding-agent conversation that grows by one tool round per request."""

    def __init__(self, content: Content, system: str, task: str, max_rounds: int):
        self.k, self.rounds, self.max_rounds = content, 0, max_rounds
        self.messages = [{"role": "system", "content": system}, user(task)]
        self.chars = len(system) + len(task) + 32

    def step(self) -> Conv:
        k = self.k
        conv = k.conv(list(self.messages), 380, tools=AGENT_TOOLS, chars=self.chars)
        tool = k.p(AGENT_TOOLS)
        name = tool["function"]["name"]
        if name == "run_command":
            args = {"command": k.p(COMMANDS)}
            result = f"{k.r.randint(1, 60)} passed, {k.r.randint(0, 3)} failed"
        else:
            args = {"pattern": k.p(PATTERNS)} if name == "search_code" else {"path": k.p(FILES)}
            result = k.p(k.c.snippets)[:800]
        call = k.tool_call(tool, args)
        self.messages += [{"role": "assistant", "content": None, "tool_calls": [call]},
                          {"role": "tool", "tool_call_id": call["id"], "content": result}]
        self.chars += len(call["function"]["arguments"]) + len(result) + 60
        self.rounds += 1
        return conv

    @property
    def done(self) -> bool:
        return self.rounds >= self.max_rounds
