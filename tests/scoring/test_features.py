import math

from distillguard.fingerprints.stage import run_fingerprints
from distillguard.ingest import ingest
from distillguard.scoring.score import feature_table
from distillguard.workspace import Workspace
from tests.conftest import exchange, write_lines

POPULAR = "Explain the difference between a hash map and a linked list, with an example where each one wins."
HARNESS = "You are grading a tutoring dataset. Answer the following question with full working: {q}"


def _template_features(ws, tmp_path, senders: int) -> dict[str, dict]:
    """`senders` accounts each send the popular prompt once; three harvest accounts fill a harness ten times each."""
    rows = [exchange(i, account_id=f"user-{i}", request={"model": "m", "messages": [{"role": "user", "content": POPULAR}]})
            for i in range(senders)]
    rows += [exchange(1000 + i, account_id=f"harvest-{i % 3}", request={"model": "m", "messages": [
        {"role": "user", "content": HARNESS.format(q=f"why does topic {w} matter to {v} people?")}]})
        for i, (w, v) in enumerate((w, v) for w in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta")
                                   for v in ("young", "old", "busy", "rural", "urban"))]
    ingest(ws, write_lines(tmp_path / f"x{senders}.jsonl", rows))
    run_fingerprints(ws)
    table = feature_table(ws, "exchange").to_pylist()
    return {kind: next(r for r in table if r["account_id"].startswith(kind)) for kind in ("user", "harvest")}


def test_template_features_do_not_grow_with_the_population(tmp_path):
    # 60 senders stay under the population at which a template held by most accounts turns generic.
    worlds = []
    for n in (5, 60):
        with Workspace.open(tmp_path / f"w{n}.duckdb") as ws:
            worlds.append(_template_features(ws, tmp_path, n))
    small, large = worlds
    for f in ("template_repeat_log", "shared_template"):
        assert small["user"][f] == large["user"][f]
    # A prompt copied once by each of its senders is never a repeated, freshly filled template...
    assert large["user"]["template_repeat_log"] == 0
    assert large["user"]["template_variant_share"] <= small["user"]["template_variant_share"] <= 0.2
    # ... while a harness that each of its accounts fills with new content is, at any population size.
    for world in (small, large):
        assert world["harvest"]["shared_template"] == 1
        assert math.isclose(world["harvest"]["template_repeat_log"], math.log(10))
        assert world["harvest"]["template_variant_share"] == 1
