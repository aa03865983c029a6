"""Prompt-template families: near-duplicate prompt *structures* across exchanges and accounts.

A distillation campaign sends one prompt template many times with its slots filled in ("Solve
{equation} and show every step", a judge template around two candidate answers, a reasoning-eliciting
wrapper around a question), spread over many accounts. This stage finds those families:

1. **Mask** (`mask_slots`): what varies between instances of one template becomes a placeholder: code
   blocks, URLs, e-mail addresses, XML-ish tag bodies, quoted strings, numbers (any token with a digit,
   so `3x+5=20` is one slot), runs of capitalised words (names, titles), and the *payload*: a short
   inline field value (`Domain: algebra.`), the rest of a line after a field label or an instruction
   prefix and a colon (`Question: …`, `Reconstruct your reasoning for: …`), and the lines under a header,
   a label line (`## Output (a):`) or an instruction that points ahead (`… the following.`) up to the next
   header or role marker. Role markers (`Human:`, `<|im_start|>user`) and the text before the payload
   stay: that is where the fixed instruction sits. Prompts over `MASK_HEAD + MASK_TAIL` characters keep
   only their two ends, since the middle of a long prompt is pasted material.
2. **Collapse** exact duplicates twice: of the raw (user text, system prompt, tools) in SQL, then of the
   masked key. Instances of a template mostly become identical once masked, so the work below runs once
   per distinct masked key.
3. **Shingle** the masked user text into word 3-grams (punctuation marks count as words: `###`, `:`, `<|`
   are structure), padded with start and end markers so that short prompts have shingles and a prompt's
   first and last words are marked as such. Templates live at the ends of a prompt (instruction prefix,
   format suffix) while leftover payload sits in the middle, so the shingles among the first `HEAD` and
   last `TAIL` tokens count twice and the middle ones once, sampled 1 in `MIDDLE_SAMPLE` by hash (a stable
   sample: equal middles still match, and a long prompt costs little). The head of the masked system
   prompt and the sorted tool names add a few shingles of their own: the same harness counts, but not
   enough to merge unrelated questions sent under one system prompt.
4. **MinHash** in datasketch's "affine32" scheme (`a * fmix32(h) + b` in wrapping 32-bit arithmetic, its
   seeded permutations), vectorised in numpy over all shingles of a chunk; the values equal datasketch
   `MinHash.update_batch` of the same 32-bit shingle hashes (a test checks it), so a signature can be
   handed to datasketch as a `LeanMinHash(seed=SEED, hashvalues=..., scheme=SCHEME)`.
5. **LSH** with the bands and rows of datasketch's parameter search, weighted towards recall because
   every candidate pair is then verified on its estimated Jaccard similarity; a band is one sort.
6. **Union-find** (connected components) over the verified pairs gives the families.

Tables written, replaced on every run:

* `exchange_templates(request_id VARCHAR, family_id BIGINT)`: one row per exchange in a family of two or
  more exchanges; an exchange whose prompt matched no other is absent.
* `template_families(family_id BIGINT, exchanges BIGINT, accounts BIGINT, first_seen TIMESTAMPTZ,
  last_seen TIMESTAMPTZ, example VARCHAR, masked VARCHAR, variants BIGINT, template_words INTEGER,
  account_share DOUBLE, generic BOOLEAN)`. `variants` counts distinct raw user texts: a harvest fills
  the slots with many questions, while one popular prompt copied by many users has a single variant.

`family_id` is a stable hash of the family's canonical masked key (the member key with most exchanges,
ties to the smallest text), so the same data gives the same ids in any row order. `masked` is that key
(prefixed by `[system]` and `[tools]` lines where the prompt had them); `example` the earliest raw user
text with that key.

**Generic families.** Popular short prompts ("hi", "continue", "translate this: …") form large families
across unrelated accounts without any coordination. `template_words` counts the distinct words the
template fixes (placeholders, numbers and punctuation excluded, system prompt included): fewer than
`SPECIFIC_MIN_WORDS` cannot single out a harness. `account_share` is the share of all active accounts
that used the family: a template that `GENERIC_SHARE` of the population sends is common property (a
popular shared prompt, an app's stock question), not one campaign's, once the workspace has
`GENERIC_MIN_ACCOUNTS` accounts to measure a share on. `generic` is true when either holds; the campaign
stage discounts those families.

Known limits: a template whose fixed text only *follows* the payload ("{passage}\\n\\nSummarise the
above.") keeps its payload, so its instances meet only where the fixed part outweighs it; a value after a
colon that runs over several lines leaks its later lines into the masked text; a fixed instruction after
a field label (`Instructions: think step by step`) is masked like a slot.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from datasketch import MinHash, MinHashLSH
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ...workspace import USER_TEXT, Workspace

ProgressFn = Callable[[int, int], None]

NUM_PERM = 64
SEED = 1
SCHEME = "affine32"  # datasketch's default permutation scheme: a bijection, no modulo
LSH_WEIGHTS = (0.1, 0.9)  # (false positive, false negative) weights: favour recall, candidates are verified
HEAD, TAIL = 24, 24  # tokens at each end of the user text whose shingles count twice
MIDDLE_SAMPLE = 4  # keep 1 in this many middle shingles
FRAME_TOKENS = 32  # tokens of "tools + system prompt" that add shingles
SPECIFIC_MIN_WORDS = 4
GENERIC_SHARE = 0.25
GENERIC_MIN_ACCOUNTS = 100
CHUNK = 50_000  # masked keys hashed at a time: bounds memory
RAW_BATCH = 50_000  # distinct raw prompts masked at a time (some are long: 1 GB of text in 200k)
# The engine's share of its memory while it streams the sorted raw prompts: it holds the whole sorted
# result up to its cap (4.9 GB at 16M exchanges) while Python masks and hashes beside it.
RAW_MEMORY_SHARE = 0.4

# --- masking ------------------------------------------------------------------------------------------
# A sequence of RE2 substitutions over Arrow arrays (C++, linear time, the GIL released), so a million
# prompts mask in seconds; `mask_slots` runs the same sequence on a one-element array. RE2 has no
# look-around: a pattern that must not start inside a word captures the character before it and puts it
# back.

SLOT_NAMES = ("SLOT", "CODE", "URL", "EMAIL", "QUOTE", "NUM", "NAME")
MASK_HEAD, MASK_TAIL = 6000, 2000  # characters kept at each end of a longer prompt
MASK_CHUNK_CHARS = 8_000_000  # text masked at a time per thread (each masking step copies its chunk)
_W = r"\pL\pN_"  # word characters
_CAP = rf"(?:[A-HJ-Z]|I[{_W}&-])[{_W}'’&-]*"  # a capitalised word; "I" and "I'm" are no names
# Line marks while masking the payload: a role marker, a header, an opener, a short label with a value
# after its colon, a longer instruction with one.
_ROLE, _HEADER, _OPENER, _FIELD, _VALUED = "\x01", "\x02", "\x03", "\x04", "\x05"
_MARK_SET = _ROLE + _HEADER + _OPENER + _FIELD + _VALUED
_STOP = _ROLE + _HEADER + _FIELD  # lines that end a block
_LINE_START = f"[^{_MARK_SET}\\n :：]"
_WORDS = "[^:：\\n ]*(?: [^:：\\n ]+){{{}}}"  # a label of so many more words, no colon in it
_VALUE = "(?:[^<\\n]|<[^S\\n])[^\\n]*"  # a value not already masked inline
_PLACEHOLDER = "<(?:" + "|".join(SLOT_NAMES) + ")>"
_QUOTES = "|".join([r'(?s)""".*?"""', r"(?s)'''.*?'''", r'"[^"\n]*"', "“[^”\n]*”", "‘[^’\n]*’",
                    "«[^»\n]*»", "「[^」\n]*」", r"`[^`\n]+`"])

# (RE2 pattern, replacement, pattern a row must contain to be scanned at all)
_STEPS: list[tuple[str, str, str | None]] = [
    (r"(?s)```.*?```|~~~.*?~~~", "<CODE>", "```|~~~"),  # an unclosed fence is left to the payload rules
    (r"(?i)(?:https?://|www\.|data:[\w/+.-]+;)\S*[^\s.,;:!?)\]'\"]", "<URL>", r"(?i)://|www\.|data:"),
    (rf"[{_W}.+-]+@[{_W}-]+(?:\.[{_W}-]+)+", "<EMAIL>", "@"),
    (r"<([A-Za-z][\w:-]*)[^<>\n]*>(?s:.*?)</([A-Za-z][\w:-]*)\s*>", r"<\1><SLOT></\2>", "</"),
    (_QUOTES, "<QUOTE>", "[\"“‘«「`']"),
    (rf"(^|[^{_W}'’])'[^'\n]*'([^{_W}'’]|$)", r"\1<QUOTE>\2", "'"),  # not an apostrophe
    # A token with a digit, inner operators included (3x+5=20, 2024-05-01, $4.99), not a tag name (<h1>).
    (rf"(^|[^<{_W}/])[$€£¥#]?[\pL_]*\pN(?:[.,:/+\-*^=×÷%]*[{_W}])*", r"\1<NUM>", r"\pN"),
    # Runs of capitalised words; a sentence-initial word stays, so "Write Python code" is no name.
    (rf"(^|[.!?:;\n\"“(*#•|-])([ \t]*)({_CAP})((?:[ \t]+{_CAP}){{2,}})", r"\1\2\3 <NAME>", "[A-Z]"),
    (rf"([{_W},;)\]>%][ \t]+)({_CAP}(?:[ \t]+{_CAP})+)", r"\1<NAME>", "[A-Z]"),
    (r"[\t\r\f\v]", " ", r"[\t\r\f\v]"),
    (r" {2,}", " ", "  "),
    (r"(?m)^ | $", "", None),
    # Payload. First short inline fields whose value ends its sentence within a line ("Domain: algebra.
    # Task type: …"), twice since a match takes the sentence end the next one starts from. Then mark each
    # line: role markers and short labels with a value ("Output (a): …") end a block, headers end one and
    # open the next, lines ending in a colon or pointing at what follows ("… the following.") open one, and
    # an instruction prefix with a value after its colon is left alone. A block, the lines after an opener
    # up to the next line that ends one, becomes one <SLOT>, then so does each line's value. RE2's leftmost
    # non-overlapping matches make an opener inside a block part of it: a model answer's "Ingredients:"
    # line is payload, not structure.
    *[(rf"(?m)(^|[.!?] )([^\s:.!?{_MARK_SET}][^:.!?\n]{{0,39}}): ([^.!?:<\n]{{1,40}}?)([.!?] \S)",
       r"\1\2: <SLOT>\4", "[:：]")] * 2,
    (r"(?mi)^((?:#{1,6} ?)?(?:human|assistant|user|system|ai|bot|gpt|model|response) ?[:：]?$|"
     r"(?:#{1,6} ?)?(?:human|assistant|user|system) ?[:：]|<\|[^|\n]*\|>|\[/?INST\]|<</?SYS>>|</?s>)",
     _ROLE + r"\1", None),
    (r"(?m)^(#{1,6} \S.*|\*\*[^*\n]{1,80}\*\* ?[:：]?|\[[^\]\n]{1,80}\] ?[:：]?|[-=*_]{3,})$", _HEADER + r"\1",
     None),
    (rf"(?m)^({_LINE_START}{_WORDS.format('0,39')}) ?[:：]$", _OPENER + r"\1:", "[:：]"),
    (rf"(?m)^({_LINE_START}{_WORDS.format('0,4')}) ?[:：] ({_VALUE})$", _FIELD + r"\1: \2", "[:：]"),
    (rf"(?m)^({_LINE_START}{_WORDS.format('5,39')}) ?[:：] ({_VALUE})$", _VALUED + r"\1: \2", "[:：]"),
    (rf"(?mi)^([{_FIELD}{_VALUED}]?)({_LINE_START}[^\n]*\b(?:following|below)\b[^\n]*[.:])$",
     r"\1" + _OPENER + r"\2", r"(?i)following|below"),
    (rf"(?m)^([{_FIELD}{_VALUED}]?)[{_HEADER}{_OPENER}]([^\n]*)(?:\n *)*\n[^{_STOP}\n ][^\n]*"
     rf"(?:\n(?:[^{_STOP}\n][^\n]*)?)*", r"\1\2" + "\n<SLOT>\n", f"[{_HEADER}{_OPENER}]"),
    (rf"(?m)^[{_FIELD}{_VALUED}]{_OPENER}?([^:\n]*): [^\n]*", r"\1: <SLOT>", f"[{_FIELD}{_VALUED}]"),
    (f"[{_MARK_SET}]", "", f"[{_MARK_SET}]"),
    # Adjacent placeholders become one: of their kind when they agree, <SLOT> otherwise.
    *((rf"<{k}>(?:[^{_W}\n<]*<{k}>)+", f"<{k}>", f"<{k}>") for k in SLOT_NAMES),
    (rf"{_PLACEHOLDER}(?:[^{_W}\n<]*{_PLACEHOLDER})+", "<SLOT>", "<"),
    (r"\n{3,}", "\n\n", "\n\n\n"),
]


def _large(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def _mask_array(texts: pa.Array) -> pa.Array:
    t = texts.cast(pa.large_string())
    long = pc.greater(pc.utf8_length(t), MASK_HEAD + MASK_TAIL)
    if pc.any(long).as_py():
        ends = pc.binary_join_element_wise(pc.utf8_slice_codeunits(t, 0, MASK_HEAD),
                                           pc.utf8_slice_codeunits(t, -MASK_TAIL), _large("\n…\n"))
        t = pc.if_else(long, ends, t)
    for pattern, replacement, guard in _STEPS:
        if guard is None:
            t = pc.replace_substring_regex(t, pattern, replacement)
            continue
        rows = pc.match_substring_regex(t, guard)
        if pc.any(rows).as_py():  # scan only the rows that can match
            t = pc.replace_with_mask(t, rows, pc.replace_substring_regex(t.filter(rows), pattern, replacement))
    return pc.utf8_trim_whitespace(t)


def mask_slots(text: str) -> str:
    """The prompt with what varies between instances of one template replaced by placeholders.

    Placeholders: <CODE>, <URL>, <EMAIL>, <QUOTE>, <NUM>, <NAME>, and <SLOT> for a payload, a tag's body
    or a run of mixed placeholders. Spaces are normalised; case is kept.
    """
    return _mask_array(pa.array([text], pa.large_string()))[0].as_py()


def mask_many(texts: list[str]) -> list[str]:
    """`mask_slots` of each text, in chunks on two threads (Arrow compute releases the GIL); a text
    that recurs (one user text under several system prompts or tool sets) is masked once."""
    distinct = list(dict.fromkeys(texts))
    most = max(1, min(50_000, -(-len(distinct) // 2)))  # texts per chunk: both threads busy on small inputs
    parts, start, chars = [], 0, 0
    for i, text in enumerate(distinct):  # ... and at most MASK_CHUNK_CHARS of text: each step copies a chunk
        chars += min(len(text), MASK_HEAD + MASK_TAIL)
        if i + 1 - start >= most or chars >= MASK_CHUNK_CHARS or i + 1 == len(distinct):
            parts.append(pa.array(distinct[start:i + 1], pa.large_string()))
            start, chars = i + 1, 0
    with ThreadPoolExecutor(2) as pool:
        masked = dict(zip(distinct, (m for part in pool.map(_mask_array, parts) for m in part.to_pylist())))
    return [masked[t] for t in texts]


# --- shingles and MinHash -----------------------------------------------------------------------------

_U, _U32 = np.uint64, np.uint32


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads a 64-bit value over all bits (the wrap-around is intended)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> _U(30))) * _U(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> _U(27))) * _U(0x94D049BB133111EB)
        return x ^ (x >> _U(31))


def _token_hashes(tokens: pa.Array) -> np.ndarray:
    """A stable 64-bit hash of each token (unlike Python's `hash`), computed once per distinct token."""
    enc = tokens.dictionary_encode()
    words = enc.dictionary.cast(pa.large_string())
    offsets = np.frombuffer(words.buffers()[1], np.int64)[words.offset:words.offset + len(words) + 1]
    data = np.frombuffer(words.buffers()[2], np.uint8)[offsets[0]:offsets[-1]].astype(np.uint64)
    offsets = offsets - offsets[0]
    lengths = np.diff(offsets)
    # Polynomial hash of the UTF-8 bytes: byte k of a word weighs P^(its distance from the word's end).
    owner = np.repeat(np.arange(len(words)), lengths)
    power = np.cumprod(np.full(int(lengths.max(initial=1)), 0x100000001B3, np.uint64), dtype=np.uint64)
    with np.errstate(over="ignore"):
        weighted = data * power[offsets[owner + 1] - 1 - np.arange(len(data))]
    sums = np.add.reduceat(weighted, offsets[:-1]) if len(data) else np.zeros(len(words), np.uint64)
    return _mix(sums ^ lengths.astype(np.uint64))[enc.indices.to_numpy(zero_copy_only=False)]


def _tokens(texts: list[str], limit: int | None) -> pa.ListArray:
    """Lowercased words and punctuation marks, after two start markers and before an end marker (so even
    an empty text has one 3-gram)."""
    arr = pc.utf8_lower(pa.array(texts, pa.large_string()))
    arr = pc.replace_substring_regex(arr, rf"([^{_W}\s<>])", r" \1 ")
    arr = pc.binary_join_element_wise(_large("\x02 \x02 "), arr, _large(" \x03"), _large(""))
    lists = pc.utf8_split_whitespace(arr)
    return pc.list_slice(lists, 0, limit + 2) if limit else lists


def shingles(texts: list[str], salt: int = 0, weighted: bool = True,
             limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of the 3-gram shingles of each text, concatenated, and where each text's run starts.

    `weighted`: head and tail shingles twice, middle ones sampled (see the module docstring); `limit`: only
    the first tokens; `salt` keeps the shingles of different fields apart.
    """
    lists = _tokens(texts, limit)
    offsets = lists.offsets.to_numpy().astype(np.int64)
    offsets -= offsets[0]
    th = _token_hashes(lists.flatten())
    lengths = np.diff(offsets)
    with np.errstate(over="ignore"):
        tri = _mix((th[:-2] * _U(0x9E3779B97F4A7C15)) ^ (th[1:-1] * _U(0xC2B2AE3D27D4EB4F)) ^ th[2:] ^ _U(salt))
    owner = np.repeat(np.arange(len(texts)), lengths)[:len(tri)]
    pos = np.arange(len(tri)) - offsets[owner]
    count = lengths[owner] - 2  # 3-grams of the text
    weight = (pos < count).astype(np.int8)  # the rest straddle two texts
    if weighted:
        in_zone = (pos < HEAD) | (pos >= count - TAIL)
        has_middle = count > HEAD + TAIL
        weight = np.where(in_zone, np.where(has_middle, 2, 1), tri % _U(MIDDLE_SAMPLE) == 0) * weight
    keep = np.repeat(np.arange(len(tri)), weight)
    second = np.zeros(len(keep), bool)  # the second copy of a doubled shingle is a distinct element
    second[1:] = keep[1:] == keep[:-1]
    values = np.where(second, _mix(tri[keep] ^ _U(0x5851F42D4C957F2D)), tri[keep]) >> _U(32)
    starts = np.concatenate([[0], np.cumsum(np.bincount(owner[keep], minlength=len(texts)))[:-1]])
    return values, starts


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's finaliser, which datasketch's affine32 scheme applies to each input hash first."""
    h = h ^ (h >> _U32(16))
    h *= _U32(0x85EBCA6B)
    h ^= h >> _U32(13)
    h *= _U32(0xC2B2AE35)
    return h ^ (h >> _U32(16))


def signatures(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """MinHash of each run of `values` (every run non-empty) in datasketch's default "affine32" scheme:
    the minimum over the run of `a * fmix32(h) + b` in wrapping 32-bit arithmetic, per permutation."""
    a, b = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations
    h = _fmix32(values.astype(np.uint32))
    out = np.empty((len(starts), NUM_PERM), np.uint32)
    bounds = np.append(starts, len(h))
    lo = 0
    while lo < len(starts):  # blocks of about 64k shingles: NUM_PERM values each, a few tens of MB
        hi = max(int(np.searchsorted(bounds, bounds[lo] + (1 << 16), side="right")) - 1, lo + 1)
        x = np.multiply.outer(h[bounds[lo]:bounds[hi]], a)
        x += b
        out[lo:hi] = np.minimum.reduceat(x, bounds[lo:hi] - bounds[lo], axis=0)
        lo = hi
    return out


def _candidate_pairs(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """Pairs (i, j) equal on all rows of at least one band; a bucket links each member to its first."""
    pairs = [np.zeros((0, 2), np.int64)]
    for band in range(bands):
        key = np.zeros(len(sig), np.uint64)
        for col in sig[:, band * rows:(band + 1) * rows].T:
            key = _mix(key ^ col.astype(np.uint64))
        order = np.argsort(key, kind="stable")
        k = key[order]
        first = np.ones(len(k), bool)
        first[1:] = k[1:] != k[:-1]
        leader = order[np.maximum.accumulate(np.where(first, np.arange(len(k)), 0))]
        pairs.append(np.stack([leader[~first], order[~first]], axis=1))
    return np.unique(np.concatenate(pairs), axis=0)


def cluster(sig: np.ndarray, threshold: float) -> np.ndarray:
    """Component label of each signature: LSH candidates, verified, joined by union-find."""
    if not len(sig):
        return np.zeros(0, np.int64)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, weights=LSH_WEIGHTS)
    pairs = _candidate_pairs(sig, lsh.b, lsh.r)
    similar = np.zeros(len(pairs), bool)
    for lo in range(0, len(pairs), 1 << 18):
        p = pairs[lo:lo + (1 << 18)]
        similar[lo:lo + len(p)] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1) >= threshold
    p = pairs[similar]
    graph = coo_matrix((np.ones(len(p), np.int8), (p[:, 0], p[:, 1])), shape=(len(sig), len(sig)))
    return connected_components(graph, directed=False)[1]


def key_signatures(keys: list[tuple[str, str, str]]) -> np.ndarray:
    """MinHash of each (masked user text, masked system prompt, tools): the user text's, united
    (element-wise min) with its frame's, computed once per distinct frame."""
    sig = np.empty((len(keys), NUM_PERM), np.uint32)
    for lo in range(0, len(keys), CHUNK):
        chunk = [u for u, _, _ in keys[lo:lo + CHUNK]]
        sig[lo:lo + len(chunk)] = signatures(*shingles(chunk))
    frames: dict[tuple[str, str], int] = {}
    frame_of = np.fromiter((frames.setdefault((s, t), len(frames)) if s or t else -1 for _, s, t in keys),
                           np.int64, len(keys))
    if frames:
        text = [f"tools {t} system {s}" for s, t in frames]
        frame_sig = signatures(*shingles(text, salt=0xF7A3E, weighted=False, limit=FRAME_TOKENS))
        framed = frame_of >= 0
        sig[framed] = np.minimum(sig[framed], frame_sig[frame_of[framed]])
    return sig


# --- the stage ----------------------------------------------------------------------------------------

@dataclass
class TemplateStats:
    exchanges: int  # exchanges with user text
    distinct_masked: int  # distinct masked keys: what was hashed
    families: int  # families of two or more exchanges
    in_families: int  # exchanges in a family
    generic_families: int


# Raw key of an exchange: equal raw prompts (user text, system prompt, tools) are masked once.
_TOOLS = "coalesce(array_to_string(list_sort(tool_names), ' '), '')"
_RID = f"hash({USER_TEXT}, coalesce(system_prompt, ''), {_TOOLS})"
_RAW = f"""
SELECT {_RID} AS rid, any_value({USER_TEXT}) AS text, any_value(coalesce(system_prompt, '')) AS system,
       any_value({_TOOLS}) AS tools, count(*) AS n
FROM exchanges WHERE trim(coalesce({USER_TEXT}, '')) <> '' GROUP BY rid
ORDER BY text, system, tools"""  # by content, not hash: families depend on key order, hashes on the engine

_MEMBERS = f"""
CREATE OR REPLACE TEMP TABLE _tpl_ex AS
SELECT e.request_id, e.account_id, e.ts, {USER_TEXT} AS text, m.family_id, m.canonical
FROM exchanges e JOIN _tpl_member m ON {_RID} = m.rid"""

_FAMILIES = """
CREATE OR REPLACE TABLE template_families AS
WITH stats AS (
  SELECT family_id, count(*) AS exchanges, count(DISTINCT account_id) AS accounts,
         min(ts) AS first_seen, max(ts) AS last_seen, count(DISTINCT text) AS variants,
         arg_min(text, (ts, request_id)) FILTER (WHERE canonical) AS example
  FROM _tpl_ex GROUP BY family_id),
population AS (SELECT greatest(count(DISTINCT account_id), 1) AS accounts FROM exchanges)
SELECT s.family_id, s.exchanges, s.accounts, s.first_seen, s.last_seen, s.example, f.masked,
       s.variants, f.template_words, s.accounts / p.accounts AS account_share,
       f.template_words < ? OR (p.accounts >= ? AND s.accounts / p.accounts >= ?) AS generic
FROM stats s JOIN _tpl_family f USING (family_id), population p
ORDER BY s.exchanges DESC, s.family_id"""


def _render(user: str, system: str, tools: str) -> str:
    """A masked key as one readable text: system prompt and tools lines only where present."""
    head = (f"[system] {system}\n" if system else "") + (f"[tools] {tools}\n" if tools else "")
    return f"{head}[user] {user}" if head else user


def template_words(user: str, system: str = "") -> int:
    """Distinct words a template fixes: the specificity of a family (placeholders and numbers excluded)."""
    return len(set(re.findall(r"[^\W\d_]{2,}", re.sub(_PLACEHOLDER, " ", f"{user} {system}").lower())))


def family_id(masked: str) -> int:
    """Stable signed 64-bit id of a canonical masked key."""
    return int.from_bytes(hashlib.blake2b(masked.encode(), digest_size=8).digest(), "big", signed=True)


def _masked_keys(ws: Workspace) -> tuple[int, np.ndarray, pa.Array, np.ndarray, np.ndarray]:
    """Distinct raw prompts, masked a batch at a time, and the distinct masked keys they give, numbered in
    order of first appearance: (number of keys, their MinHash signatures, each raw prompt's `rid`, its
    exchanges, its key number). A new key is hashed when first seen and its text goes to `_tpl_keys`
    in the workspace, so memory holds neither raw nor masked text (at 16M exchanges: 2.5M distinct
    prompts, 2.7 GB of text), only a digest per key."""
    db = ws.backend
    db.execute("CREATE OR REPLACE TABLE _tpl_keys (k BIGINT, user_text VARCHAR, system_text VARCHAR, tools VARCHAR)")
    index: dict[bytes, int] = {}  # digest of (masked user, masked system, tools) -> key number
    masked_system: dict[str, str] = {}
    rids, counts, numbers, sigs = [], [], [], []
    with db.memory_share(RAW_MEMORY_SHARE):
        for batch in db.iter_batches(_RAW, rows=RAW_BATCH):
            user = mask_many(batch.column("text").to_pylist())
            systems = batch.column("system").to_pylist()
            new = sorted(set(systems) - masked_system.keys())
            masked_system.update(zip(new, mask_many(new)))
            fresh: list[tuple[str, str, str]] = []
            of_raw = np.empty(len(user), np.int64)
            for i, key in enumerate(zip(user, (masked_system[s] for s in systems), batch.column("tools").to_pylist())):
                digest = hashlib.blake2b("\x00".join(key).encode(), digest_size=16).digest()
                number = index.get(digest)
                if number is None:
                    number = index[digest] = len(index)
                    fresh.append(key)
                of_raw[i] = number
            numbers.append(of_raw)
            rids.append(batch.column("rid"))  # as the engine types its hash (unsigned in DuckDB, signed in Spark)
            counts.append(batch.column("n").to_numpy())
            if fresh:
                sigs.append(key_signatures(fresh))
                first = len(index) - len(fresh)
                db.insert_batch("_tpl_new", pa.table({
                    "k": pa.array(range(first, len(index)), pa.int64()),
                    **{name: pa.array([k[i] for k in fresh], pa.string())
                       for i, name in enumerate(("user_text", "system_text", "tools"))}}),
                    ["INSERT INTO _tpl_keys SELECT * FROM _tpl_new"])
    if not numbers:
        return 0, np.zeros((0, NUM_PERM), np.uint32), pa.array([], pa.uint64()), np.zeros(0, np.int64), \
            np.zeros(0, np.int64)
    return (len(index), np.concatenate(sigs), pa.concat_arrays(rids), np.concatenate(counts),
            np.concatenate(numbers))


def _key_texts(ws: Workspace, wanted: np.ndarray) -> dict[int, tuple[str, str, str]]:
    """(masked user, masked system, tools) of the keys numbered in `wanted`, from `_tpl_keys`."""
    db = ws.backend
    db.register_arrow("_tpl_wanted", pa.table({"k": pa.array(wanted, pa.int64())}))
    try:
        rows = ws.sql("SELECT k, user_text, system_text, tools FROM _tpl_keys SEMI JOIN _tpl_wanted USING (k)")
    finally:
        db.unregister("_tpl_wanted")
    return {k: (u, s, t) for k, u, s, t in zip(*(rows.column(c).to_pylist() for c in rows.column_names))}


def build_template_families(ws: Workspace, threshold: float = 0.8,
                            progress: ProgressFn | None = None) -> TemplateStats:
    """Write `exchange_templates` and `template_families` (see the module docstring); return counts.

    `threshold`: the estimated Jaccard similarity of shingle sets at which two masked prompts join one
    family. `progress(done, total)` is called after each of four steps.
    """
    db = ws.backend

    def step(done: int) -> None:
        if progress:
            progress(done, 4)

    try:
        return _families(ws, threshold, step)
    finally:
        db.execute("DROP TABLE IF EXISTS _tpl_keys")


def _families(ws: Workspace, threshold: float, step: Callable[[int], None]) -> TemplateStats:
    db = ws.backend
    n_keys, sig, rid, n, key_of_raw = _masked_keys(ws)
    step(1)

    labels = cluster(sig, threshold)
    del sig
    per_key = np.bincount(key_of_raw, weights=n, minlength=n_keys)
    in_family = (np.bincount(labels, weights=per_key)[labels] >= 2) if n_keys else np.zeros(0, bool)
    step(2)

    keys = _key_texts(ws, np.flatnonzero(in_family))  # only what may be canonical
    rendered = {k: _render(*keys[k]) for k in sorted(keys)}
    canonical: dict[int, int] = {}  # label -> its member key with most exchanges, ties to the smaller text
    for k in rendered:
        c = canonical.setdefault(labels[k], k)
        if (per_key[k], rendered[c]) > (per_key[c], rendered[k]):
            canonical[labels[k]] = k
    ids = {label: family_id(rendered[k]) for label, k in canonical.items()}
    step(3)

    member = np.flatnonzero(in_family[key_of_raw])
    is_canonical = np.zeros(n_keys, bool)
    is_canonical[list(canonical.values())] = True
    db.register_arrow("_tpl_member", pa.table({
        "rid": rid.take(pa.array(member, pa.int64())),
        "family_id": pa.array([ids[labels[k]] for k in key_of_raw[member]], pa.int64()),
        "canonical": pa.array(is_canonical[key_of_raw[member]]),
    }))
    db.register_arrow("_tpl_family", pa.table({
        "family_id": pa.array(list(ids.values()), pa.int64()),
        "masked": pa.array([rendered[k] for k in canonical.values()], pa.string()),
        "template_words": pa.array([template_words(keys[k][0], keys[k][1]) for k in canonical.values()],
                                   pa.int32()),
    }))
    try:
        db.execute(_MEMBERS)
        db.execute("CREATE OR REPLACE TABLE exchange_templates AS SELECT request_id, family_id FROM _tpl_ex")
        db.execute(_FAMILIES, [SPECIFIC_MIN_WORDS, GENERIC_MIN_ACCOUNTS, GENERIC_SHARE])
    finally:
        db.unregister("_tpl_member")
        db.unregister("_tpl_family")
        db.execute("DROP TABLE IF EXISTS _tpl_ex")
    step(4)
    return TemplateStats(
        exchanges=int(n.sum()), distinct_masked=n_keys, families=len(ids),
        in_families=ws.count("exchange_templates"),
        generic_families=int(db.scalar("SELECT count(*) FROM template_families WHERE generic")))
