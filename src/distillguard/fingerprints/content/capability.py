"""Capability classifier: which capability area one exchange exercises, as a probability per class.

Distillation campaigns concentrate their volume on a few capability areas, so every exchange gets a
distribution over ``CLASSES``. This is the fast path meant for whole-log scans: hashed word unigrams and
bigrams (plus runs of symbols, which carry code and maths, and single CJK characters, which carry
languages written without spaces) of the last user message and the system prompt, and a few structural
features of the exchange (tools defined, images attached, earlier tool calls, turn count, length,
script), fed to a linear softmax model. The text alone cannot tell a function-calling request from a
plain question, nor an agent's task from a chat, which is why the structure is part of the input.

The weights ship with the package (``models/capability.npz``, see the model card beside it);
``python -m distillguard.fingerprints.content.training`` rebuilds them.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize
from sklearn.utils import murmurhash3_32

CLASSES: tuple[str, ...] = (
    "reasoning_math",
    "coding",
    "tool_use",
    "agentic",
    "data_analysis",
    "vision",
    "creative_writing",
    "knowledge_qa",
    "advice_chat",
    "translation",
    "judge_grading",
    "political_rewrite",
    "jailbreak",
)

# Structural features, each 0 or 1, appended after the hashed text features.
STRUCTURAL: tuple[str, ...] = (
    "tools",
    "tools_3_plus",
    "images",
    "images_2_plus",
    "tool_calls",
    "tool_calls_4_plus",
    "turns_2_3",
    "turns_4_9",
    "turns_10_plus",
    "system",
    "system_long",
    "text_empty",
    "text_under_40",
    "text_over_1000",
    "non_ascii",
    "mostly_non_ascii",
)

N_HASHED = 2**18
MAX_TEXT_CHARS = 2000
MAX_SYSTEM_CHARS = 1000
# A long prompt keeps its head and its tail: the instruction sits before or after the pasted material.
_TAIL_CHARS = 500
MODEL_PATH = Path(__file__).with_name("models") / "capability.npz"
_BATCH = 16384  # rows hashed at once, which bounds memory on large scans

_TOKEN = re.compile(r"\w+|[^\w\s]+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# System-prompt words live in their own part of the hash space: "translate" in a system prompt is not
# the same evidence as "translate" typed by the user.
_SYSTEM_PREFIX = "\x00"
# Each distinct token is hashed once (MurmurHash3, stable across runs and machines) and remembered;
# bigram buckets are mixed from the two token hashes in numpy instead of hashing joined strings.
# Hashing strings dominated the cost per prompt; this keeps scans above 20,000 prompts/s on one core.
_HASHES: dict[str, int] = {}
_MAX_CACHED = 2_000_000
_MIX = np.uint64(0x9E3779B97F4A7C15)


def clip_text(text: str) -> str:
    """The part of a message the classifier reads: all of it up to MAX_TEXT_CHARS, else head and tail."""
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return text[: MAX_TEXT_CHARS - _TAIL_CHARS] + "\n" + text[-_TAIL_CHARS:]


def _hashes(tokens: list[str]) -> list[int]:
    try:
        return [_HASHES[t] for t in tokens]
    except KeyError:
        if len(_HASHES) > _MAX_CACHED:
            _HASHES.clear()
        for t in tokens:
            if t not in _HASHES:
                # Bytes, not str: logs decoded from JSON can hold lone surrogates, which strict UTF-8 refuses.
                _HASHES[t] = murmurhash3_32(t.encode("utf-8", "surrogatepass"), positive=True)
        return [_HASHES[t] for t in tokens]


def token_sequences(text: str) -> list[list[str]]:
    """Token sequences of a user message, each counted as unigrams and adjacent bigrams: words and
    symbol runs (which carry code and maths) of the clipped text, and single CJK characters, since
    those scripts put no spaces between words. The system prompt adds its words, marked as such
    (`_system_hashes`)."""
    text = clip_text(text)
    out = [_TOKEN.findall(text.lower())]
    if not text.isascii():
        out.append(_CJK.findall(text))
    return out


@lru_cache(maxsize=4096)
def _system_hashes(system: str) -> array:
    # Few distinct system prompts serve many exchanges: tokenize and hash each once.
    return array("Q", _hashes([_SYSTEM_PREFIX + w for w in _TOKEN.findall(system[:MAX_SYSTEM_CHARS].lower())]))


def hashed_features(texts: Sequence[str], systems: Sequence[str]) -> sparse.csr_matrix:
    """(n, N_HASHED) hashed unigrams and bigrams: log(1 + count), each row scaled to unit l2 norm.

    Entries are generated in row order, so the CSR matrix is built directly and only each row's few
    entries need sorting to sum repeats.
    """
    lengths, docs, flat = [], [], array("Q")
    for doc, (text, system) in enumerate(zip(texts, systems)):
        seqs = [array("Q", _hashes(seq)) for seq in token_sequences(text)]
        if system:
            seqs.append(_system_hashes(system))
        for seq in seqs:
            flat.extend(seq)
            lengths.append(len(seq))
            docs.append(doc)
    h = np.frombuffer(flat, dtype=np.uint64)
    seq_of = np.repeat(np.arange(len(lengths)), lengths)
    # Entry 2i is token i's unigram, entry 2i+1 the bigram it starts, kept where the next token is
    # in the same sequence; so the entries stay in row order.
    cols = np.empty((len(h), 2), dtype=np.uint64)
    cols[:, 0] = h % np.uint64(N_HASHED)
    cols[:-1, 1] = ((h[:-1] * _MIX + h[1:]) >> np.uint64(32)) % np.uint64(N_HASHED)
    keep = np.ones((len(h), 2), dtype=bool)
    keep[:, 1] = False
    keep[:-1, 1] = seq_of[1:] == seq_of[:-1]
    rows = np.repeat(np.asarray(docs, dtype=np.int64)[seq_of], 2)[keep.ravel()]
    cols = cols.ravel()[keep.ravel()].astype(np.int32)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(texts)))])
    counts = sparse.csr_matrix((np.ones(len(cols), np.float32), cols, indptr), shape=(len(texts), N_HASHED))
    counts.sum_duplicates()
    np.log1p(counts.data, out=counts.data)  # damp repeated tokens: separators in tables, templated text
    return normalize(counts, copy=False)


def _column(values: Sequence[int] | np.ndarray | None, n: int) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=np.int64)
    return np.asarray(values, dtype=np.int64).reshape(n)


def structural_features(
    texts: Sequence[str],
    systems: Sequence[str],
    n_tools: np.ndarray,
    n_images: np.ndarray,
    n_tool_calls: np.ndarray,
    turns: np.ndarray,
) -> np.ndarray:
    """(n, len(STRUCTURAL)) float32 matrix of 0/1 structural features."""
    length = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    # UTF-8 bytes beyond one per character measure how much of the text is outside ASCII.
    extra = np.fromiter((len(t.encode("utf-8", "surrogatepass")) for t in texts), np.int64, len(texts)) - length
    system_len = np.fromiter(map(len, systems), dtype=np.int64, count=len(systems))
    columns = (
        n_tools > 0,
        n_tools >= 3,
        n_images > 0,
        n_images >= 2,
        n_tool_calls > 0,
        n_tool_calls >= 4,
        (turns >= 2) & (turns <= 3),
        (turns >= 4) & (turns <= 9),
        turns >= 10,
        system_len > 0,
        system_len > 1000,
        length == 0,
        (length > 0) & (length < 40),
        length > 1000,
        extra > 0,
        extra > length // 2,
    )
    return np.column_stack(columns).astype(np.float32)


def featurize(
    texts: Sequence[str],
    systems: Sequence[str] | None = None,
    n_tools: Sequence[int] | np.ndarray | None = None,
    n_images: Sequence[int] | np.ndarray | None = None,
    n_tool_calls: Sequence[int] | np.ndarray | None = None,
    turns: Sequence[int] | np.ndarray | None = None,
) -> sparse.csr_matrix:
    """CSR matrix (n, N_HASHED + len(STRUCTURAL)): hashed text features, then structure."""
    n = len(texts)
    systems = [""] * n if systems is None else [s or "" for s in systems]
    texts = [t or "" for t in texts]
    # Prompts repeat (templates, retries, campaigns): hash each distinct (text, system) pair once.
    pairs: dict[tuple[str, str], int] = {}
    inverse = np.fromiter((pairs.setdefault(p, len(pairs)) for p in zip(texts, systems)), np.int64, n)
    hashed = hashed_features([t for t, _ in pairs], [s for _, s in pairs])[inverse]
    struct = structural_features(
        texts,
        systems,
        _column(n_tools, n),
        _column(n_images, n),
        _column(n_tool_calls, n),
        np.maximum(_column(turns, n), 1),
    )
    return sparse.hstack([hashed, sparse.csr_matrix(struct)], format="csr")


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


@dataclass(frozen=True)
class CapabilityClassifier:
    """Linear softmax model over ``featurize`` features.

    ``weights`` has one row per feature and one column per class; ``temperature`` divides the logits
    (fitted on held-out data so that the probabilities are calibrated, not just ranked).
    """

    weights: np.ndarray
    bias: np.ndarray
    temperature: float = 1.0
    classes: tuple[str, ...] = CLASSES

    @classmethod
    def load(cls, path: str | Path = MODEL_PATH) -> CapabilityClassifier:
        with np.load(path, allow_pickle=False) as z:
            classes = tuple(str(c) for c in z["classes"])
            weights = np.zeros((int(z["n_features"]), len(classes)), dtype=np.float32)
            weights[z["rows"]] = z["values"].astype(np.float32)
            return cls(weights, z["bias"].astype(np.float32), float(z["temperature"]), classes)

    def save(self, path: str | Path) -> None:
        """Write the non-zero rows only, as float16: hashed buckets no training text reached stay zero."""
        rows = np.flatnonzero(np.any(self.weights.astype(np.float16) != 0, axis=1)).astype(np.uint32)
        np.savez_compressed(
            path,
            classes=np.array(self.classes),
            n_features=np.int64(self.weights.shape[0]),
            rows=rows,
            values=self.weights[rows].astype(np.float16),
            bias=self.bias.astype(np.float32),
            temperature=np.float32(self.temperature),
        )

    def logits(self, features: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(features @ self.weights) + self.bias

    def predict_proba(
        self,
        texts: Sequence[str],
        systems: Sequence[str] | None = None,
        n_tools: Sequence[int] | np.ndarray | None = None,
        n_images: Sequence[int] | np.ndarray | None = None,
        n_tool_calls: Sequence[int] | np.ndarray | None = None,
        turns: Sequence[int] | np.ndarray | None = None,
    ) -> np.ndarray:
        """(n, len(classes)) probabilities; each row sums to 1. Missing columns mean 0 (turns: 1)."""
        texts = list(texts)
        systems = None if systems is None else list(systems)
        n = len(texts)
        out = np.empty((n, len(self.classes)), dtype=np.float32)
        for start in range(0, n, _BATCH):
            part = slice(start, min(start + _BATCH, n))
            features = featurize(
                texts[part],
                None if systems is None else systems[part],
                *(None if c is None else np.asarray(c)[part] for c in (n_tools, n_images, n_tool_calls, turns)),
            )
            out[part] = softmax(self.logits(features) / self.temperature)
        return out

    def predict(self, texts: Sequence[str], **columns) -> list[str]:
        """The most probable class of each exchange."""
        return [self.classes[i] for i in self.predict_proba(texts, **columns).argmax(axis=1)]


def _text_of(content) -> str:
    """Text of a message content: a string, or the text parts/blocks of a list (tool results excluded)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _images_in(content) -> int:
    if not isinstance(content, list):
        return 0
    return sum(isinstance(p, dict) and p.get("type") in ("image_url", "image", "input_image") for p in content)


def inputs_from_request(request: dict) -> dict:
    """The classifier's inputs from one request body (OpenAI Chat Completions or Anthropic Messages form).

    ``text`` is the last user message that has text of its own: in an agent loop the latest user turns
    only carry tool results, and the task is the message that started the loop.
    """
    messages = [m for m in request.get("messages") or [] if isinstance(m, dict)]
    system = request.get("system")
    system_parts = [_text_of(system)] if system else []
    system_parts += [_text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer")]
    dialogue = [m for m in messages if m.get("role") not in ("system", "developer")]
    text = next(
        (t for m in reversed(dialogue) if m.get("role") == "user" and (t := _text_of(m.get("content"))).strip()),
        "",
    )
    tool_calls = 0
    for m in dialogue:
        if m.get("role") == "assistant":
            tool_calls += len(m.get("tool_calls") or []) + bool(m.get("function_call"))
            if isinstance(m.get("content"), list):
                tool_calls += sum(isinstance(p, dict) and p.get("type") == "tool_use" for p in m["content"])
    return {
        "text": text,
        "system": "\n".join(p for p in system_parts if p),
        "n_tools": len(request.get("tools") or []) + len(request.get("functions") or []),
        "n_images": sum(_images_in(m.get("content")) for m in dialogue),
        "n_tool_calls": tool_calls,
        "turns": max(len(dialogue), 1),
    }


def columns_from_requests(requests: Iterable[dict]) -> dict[str, list]:
    """``inputs_from_request`` over many requests, as the keyword arguments ``predict_proba`` takes."""
    rows = [inputs_from_request(r) for r in requests]
    names = {"texts": "text", "systems": "system", "n_tools": "n_tools", "n_images": "n_images",
             "n_tool_calls": "n_tool_calls", "turns": "turns"}
    return {arg: [row[key] for row in rows] for arg, key in names.items()}
