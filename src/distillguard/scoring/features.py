"""The features each score reads, as SQL over the fingerprint tables, with their reason codes.

Features are scale-free (shares, logs, 0..1 strengths) so a model fit on one traffic mix
transfers to another, and each reads as a sentence when it drives a score up.
"""

from __future__ import annotations

from ..fingerprints.content.signals import SIGNALS
from ..fingerprints.content.capability import CLASSES
from .model import Feature

# --- exchange level: what one request asks for and how it is sent ------------------------
_CAPABILITY_REASONS = {"judge_grading": ("GRADING_TASK", "Content is an LLM-as-judge grading task"),
                       "political_rewrite": ("POLITICAL_REWRITE_TASK", "Content is a politically sensitive rewrite")}

EXCHANGE_FEATURES: list[tuple[Feature, str]] = [
    *[(Feature(s.name, s.reason_code, s.description, notable=0.5), f"coalesce(s.{s.name}, 0)") for s in SIGNALS],
    (Feature("shared_template", "SHARED_TEMPLATE",
             "Prompt follows a specific template that other accounts also send", notable=1),
     "CASE WHEN f.generic = false AND f.accounts >= 2 THEN 1 ELSE 0 END"),
    # How the template is used, never how big the log is: counts of accounts or exchanges grow with the
    # population, so at 100k accounts a popular homework question would read like a hydra's template.
    (Feature("template_repeat_log", "TEMPLATE_REPEATED",
             "Each account that uses the template sends it many times (log of exchanges per account)"),
     "CASE WHEN f.generic = false THEN ln(coalesce(f.exchanges / f.accounts, 1)) ELSE 0 END"),
    (Feature("template_variant_share", "TEMPLATE_FILLED",
             "The template is filled with different content each time (distinct texts per exchange)"),
     "CASE WHEN f.generic = false THEN coalesce(f.variants / f.exchanges, 0) ELSE 0 END"),
    (Feature("template_account_share", "COMMON_TEMPLATE", "Share of all accounts that use this template"),
     "coalesce(f.account_share, 0)"),
    (Feature("template_generic", "GENERIC_PROMPT", "The prompt is a generic one many people send"),
     "coalesce(f.generic::INT, 0)"),
    *[(Feature(f"p_{c}", *_CAPABILITY_REASONS.get(c, (f"CAPABILITY_{c.upper()}", f"Capability: {c}")),
               notable=0.5 if c in _CAPABILITY_REASONS else None), f"coalesce(c.p_{c}, 0)") for c in CLASSES],
    (Feature("capability_confidence", "CLEAR_CAPABILITY_FOCUS", "Content sits squarely in one capability"),
     "coalesce(c.confidence, 0)"),
    (Feature("max_tokens_log", "LARGE_OUTPUT_BUDGET", "Large max_tokens (log)"), "ln(1 + coalesce(e.max_tokens, 0))"),
    (Feature("temperature", "TEMPERATURE", "Sampling temperature"), "coalesce(e.temperature, 1)"),
    (Feature("prompt_length_log", "PROMPT_LENGTH", "Length of the last user message (log)"),
     "ln(1 + length(coalesce(e.last_user_message, '')))"),
    (Feature("has_tools", "TOOLS", "Tools are defined"), "(coalesce(e.tools_defined, 0) > 0)::INT"),
    (Feature("has_images", "IMAGES", "Images are attached"), "(coalesce(e.image_parts, 0) > 0)::INT"),
    (Feature("has_system", "SYSTEM_PROMPT", "A system prompt is set"), "(e.system_prompt IS NOT NULL)::INT"),
    (Feature("turns_log", "CONVERSATION_LENGTH", "Messages in the request (log)"), "ln(1 + coalesce(e.turn_count, 0))"),
]

EXCHANGE_SQL = """
SELECT e.request_id, e.account_id, {columns}
FROM exchanges e
LEFT JOIN exchange_signals s USING (request_id)
LEFT JOIN exchange_capabilities c USING (request_id)
LEFT JOIN exchange_templates t USING (request_id)
LEFT JOIN template_families f ON f.family_id = t.family_id
"""

# --- account level: how the account behaves, and how harvest-like its traffic is ---------
ACCOUNT_FEATURES: list[tuple[Feature, str]] = [
    (Feature("exchange_score_mean", "HARVEST_CONTENT", "Its requests read like harvesting on average"),
     "coalesce(x.score_mean, 0)"),
    (Feature("exchange_score_high_share", "HARVEST_CONTENT_SHARE",
             "A large share of its requests score as harvesting"), "coalesce(x.high_share, 0)"),
    (Feature("shared_template_share", "SHARED_TEMPLATES", "Much of its traffic uses templates shared with other accounts"),
     "coalesce(a.shared_template_share, 0)"),
    (Feature("top_template_share", "ONE_TEMPLATE_DOMINATES", "One template carries much of its traffic"),
     "coalesce(a.top_template_share, 0)"),
    (Feature("quietest_8h_share", "NO_SLEEP", "Active through its own quietest eight hours, like a machine"),
     "coalesce(a.quietest_8h_share, 0)"),
    (Feature("hour_of_day_entropy", "ROUND_THE_CLOCK", "Activity spread evenly round the clock"),
     "coalesce(a.hour_of_day_entropy, 0)"),
    (Feature("gap_regularity", "MACHINE_CADENCE", "Requests arrive at regular, machine-like intervals"),
     "CASE WHEN a.session_gap_cv IS NULL THEN 0 ELSE greatest(0, 1 - least(a.session_gap_cv, 2) / 2) END"),
    (Feature("single_turn_share", "SINGLE_SHOT_TRAFFIC", "Mostly single prompts rather than conversations"),
     "coalesce(a.single_turn_share, 0)"),
    (Feature("top_capability_share", "CAPABILITY_CONCENTRATION", "Traffic concentrated in one capability area"),
     "coalesce(a.top_capability_share, 0)"),
    (Feature("capability_coverage", "SYSTEMATIC_COVERAGE", "Systematic coverage of many capability areas"),
     "coalesce(a.capability_coverage, 0)"),
    (Feature("ip_hosting_share", "HOSTING_IPS", "Requests come from hosting / datacenter networks"),
     "coalesce(a.ip_hosting_share, 0)"),
    (Feature("ip_anonymised_share", "ANONYMISED_IPS", "Requests come through VPN, proxy or Tor exits"),
     "coalesce(a.ip_vpn_share, 0) + coalesce(a.ip_proxy_share, 0) + coalesce(a.ip_tor_share, 0)"),
    (Feature("fast_model_pivot", "FAST_MODEL_PIVOT", "Moved its traffic to a new model within a day of release"),
     "CASE WHEN a.new_model_pivot_hours IS NOT NULL AND a.new_model_pivot_hours <= 24 THEN 1 ELSE 0 END"),
    (Feature("volume_log", "HIGH_VOLUME", "High daily volume (log exchanges per active day)"),
     "ln(1 + coalesce(a.exchanges_per_active_day, 0))"),
    (Feature("reasoning_token_share", "REASONING_HEAVY", "Answers are dominated by reasoning tokens"),
     "coalesce(a.reasoning_token_share, 0)"),
    (Feature("ips_per_exchange_log", "IP_ROTATION", "Rotates through many IP addresses"),
     "ln(1 + coalesce(a.distinct_ips, 0)) - ln(1 + coalesce(a.exchanges, 0)) / 2"),
    (Feature("multi_model_request_share", "MODEL_COMPARISON",
             "Sends the same requests to several models, as an evaluation harness does"),
     "coalesce(a.multi_model_request_share, 0)"),
]

ACCOUNT_SQL = """
SELECT a.account_id, {columns}
FROM account_features a
LEFT JOIN (SELECT account_id, avg(score) AS score_mean, avg(CASE WHEN score >= 0.5 THEN 1 ELSE 0 END) AS high_share
           FROM exchange_scores GROUP BY account_id) x USING (account_id)
"""


def feature_sql(template: str, features: list[tuple[Feature, str]]) -> str:
    return template.format(columns=", ".join(f"({expr})::DOUBLE AS {f.name}" for f, expr in features))


def catalogue(features: list[tuple[Feature, str]]) -> dict[str, Feature]:
    return {f.name: f for f, _ in features}
