"""Request-shape signals: sampling parameters and conversation shape, read from typed columns.

Limits are never hard-coded: a model's output and thinking ceilings are the largest values its
successful requests used in the population, so the signals follow whatever models the log holds.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .base import Signal, exchange_columns, noisy_or, register, values

_OK = "coalesce(status, 200) < 400"  # a rejected request's parameters say nothing about the model's limits


def share_of(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """part / whole, NaN where the whole is missing or not positive."""
    return np.divide(part, whole, out=np.full(len(part), np.nan), where=whole > 0)


_EFFORT = ("CASE lower({}.reasoning_effort) WHEN 'minimal' THEN 0 WHEN 'low' THEN 1 WHEN 'medium' THEN 2 "
           "WHEN 'high' THEN 3 WHEN 'xhigh' THEN 4 WHEN 'max' THEN 5 END")


@register
class SamplingHarvest(Signal):
    """Noisy-OR of sampling cues: n > 1, logprobs (more for more alternatives), temperature > 1, a fixed seed (weak)."""

    name = "sampling_harvest"
    reason_code = "SAMPLING_HARVEST"
    description = ("Request parameters suited to harvesting many or scored samples: several completions, "
                   "token log-probabilities, high temperature.")
    inputs = {**exchange_columns("n", "logprobs", "top_logprobs", "temperature"), "seeded": "e.seed IS NOT NULL"}

    def score(self, batch: pa.Table) -> np.ndarray:
        n, top = values(batch, "n", 1), values(batch, "top_logprobs", 0)
        return noisy_or(
            np.where(n >= 2, 0.3 + 0.15 * np.log2(np.maximum(n, 1)), 0),  # 2 -> 0.45, 4 -> 0.6, 16 -> 0.9
            # Top alternatives per token are what logit distillation trains on.
            np.where(top > 0, 0.35 + 0.025 * top, 0.3 * values(batch, "logprobs", 0)),
            0.2 * (values(batch, "temperature", 0) > 1),
            # Seeds (mostly with temperature 0) mark evaluations as much as harvesters.
            0.1 * values(batch, "seeded"),
        )


@register
class MaxTokensCeiling(Signal):
    """How close max_tokens is to the model's observed ceiling, discounted by the share of its traffic already there."""

    name = "max_tokens_ceiling"
    reason_code = "MAX_TOKENS_CEILING"
    description = ("max_tokens at or near the largest value seen for the model, where that is not the "
                   "model's usual setting: asking for the longest answers the model can give.")
    inputs = {**exchange_columns("max_tokens"), "ceiling": "max_tokens_ceiling",
              "ceiling_share": "max_tokens_ceiling_share"}
    population = f"""
        SELECT model, any_value(ceiling) AS max_tokens_ceiling,
               sum(c) FILTER (WHERE max_tokens >= 0.95 * ceiling) / sum(c) AS max_tokens_ceiling_share
        FROM (SELECT model, max_tokens, c, max(max_tokens) FILTER (WHERE ok) OVER (PARTITION BY model) AS ceiling
              FROM (SELECT model, max_tokens, {_OK} AS ok, count(*) AS c FROM exchanges GROUP BY ALL))
        GROUP BY model"""

    def score(self, batch: pa.Table) -> np.ndarray:
        ratio = share_of(values(batch, "max_tokens"), values(batch, "ceiling"))
        closeness = np.clip((ratio - 0.5) / 0.45, 0, 1)  # 1 from 95% of the ceiling, 0 at half or below
        return closeness * (1 - values(batch, "ceiling_share", 1))


@register
class ReasoningMaxed(Signal):
    """Reasoning turned up: effort at the model's top observed level, or thinking budget as a share of its max."""

    name = "reasoning_maxed"
    reason_code = "REASONING_MAXED"
    description = ("reasoning_effort at the highest level seen for the model (at least 'high'), or a thinking "
                   "budget near the model's largest: paying for the longest reasoning traces.")
    inputs = {"effort": _EFFORT.format("e"), **exchange_columns("thinking_budget"),
              "top_effort": "reasoning_top_effort", "top_budget": "reasoning_top_budget"}
    population = f"""
        SELECT model, max({_EFFORT.format("exchanges")}) FILTER (WHERE {_OK}) AS reasoning_top_effort,
               max(thinking_budget) FILTER (WHERE {_OK}) AS reasoning_top_budget
        FROM exchanges GROUP BY model"""

    def score(self, batch: pa.Table) -> np.ndarray:
        effort, top = values(batch, "effort", -1), values(batch, "top_effort", -1)
        by_effort = np.select([effort >= np.maximum(top, 3), (effort == top - 1) & (effort >= 2)], [1.0, 0.4], 0.0)
        by_budget = np.clip(share_of(values(batch, "thinking_budget", 0), values(batch, "top_budget")), 0, 1)
        # Capped at 0.8: a maxed setting is also an ordinary product choice for hard problems.
        return 0.8 * np.maximum(by_effort, np.nan_to_num(by_budget))


@register
class SingleShot(Signal):
    """One user turn with no conversation before it (1.0); a client-written history or an agent loop counts less."""

    name = "single_shot"
    reason_code = "SINGLE_SHOT"
    description = ("The exchange is a single prompt rather than a turn of a conversation; harvesting sends "
                   "independent prompts, people and agents build on earlier turns.")
    inputs = {
        **exchange_columns("user_turns"),
        "tool_traffic": "coalesce(e.tools_called, 0) + coalesce(e.tool_results, 0) > 0",
        # Turns that are neither user nor system; the Messages API keeps its system prompt out of the list.
        "other_turns": "e.turn_count - e.user_turns - CASE WHEN e.system_prompt IS NOT NULL "
                       "AND e.endpoint <> 'messages' THEN 1 ELSE 0 END",
    }

    def score(self, batch: pa.Table) -> np.ndarray:
        one = values(batch, "user_turns", 0) == 1
        return np.select([~one, values(batch, "tool_traffic", 0) > 0, values(batch, "other_turns", 0) <= 0],
                         [0.0, 0.2, 1.0], 0.6)  # 0.6: few-shot or prefilled assistant turns the client wrote
