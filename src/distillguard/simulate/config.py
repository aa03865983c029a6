"""Simulation knobs and the named worlds (presets) built from them.

`default` is the world detectors are tuned on; `shifted` is a deliberately different
world (mix, volumes, camouflage, wordings, models, release day) for scoring them on
traffic they were not tuned on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BENIGN = (
    "chat_user",         # ordinary individuals, diurnal in their own timezone
    "shared_ip_user",    # individuals behind mobile CGNAT or commercial VPN exits
    "cloud_app",         # startup app fleets egressing through shared cloud NAT
    "enterprise",        # many accounts and keys on one org and one card, office hours
    "benchmark_runner",  # eval suites: bursts, fixed templates, temperature 0
    "university_class",  # one class on a campus IP, accounts made the same day
    "coding_agent",      # long tool-using coding sessions with growing context
    "jailbreaker",       # abusive prompts, not distillation
    "legit_reseller",    # many downstream customers, varied content, hosting IPs
)
DISTILL = (
    "reasoning_harvest",  # CoT elicitation, rubric grading, censorship-safe rewrites; synchronised
    "agentic_harvest",    # tools, coding, data analysis, computer use, vision; residential proxies
    "coding_pivot",       # biggest volume; agentic coding; jumps to the new model within a day
    "hydra_proxy",        # reseller-like proxy mixing harvest with real customers' requests
    "low_and_slow",       # few quiet accounts; only the content gives it away
)
ARCHETYPES = BENIGN + DISTILL


DEFAULT_MIX = {
    "chat_user": 0.43, "shared_ip_user": 0.12, "cloud_app": 0.03, "enterprise": 0.06,
    "benchmark_runner": 0.005, "university_class": 0.05, "coding_agent": 0.06,
    "jailbreaker": 0.01, "legit_reseller": 0.005,
    "reasoning_harvest": 0.025, "agentic_harvest": 0.07, "coding_pivot": 0.03,
    "hydra_proxy": 0.09, "low_and_slow": 0.005,
}
DEFAULT_RATES = {
    "chat_user": 8, "shared_ip_user": 7, "cloud_app": 160, "enterprise": 60,
    "benchmark_runner": 700, "university_class": 6, "coding_agent": 90, "jailbreaker": 10,
    "legit_reseller": 900, "reasoning_harvest": 90, "agentic_harvest": 60,
    "coding_pivot": 400, "hydra_proxy": 100, "low_and_slow": 25,
}
DEFAULT_CAMPAIGNS = {"reasoning_harvest": 1, "agentic_harvest": 1, "coding_pivot": 1, "hydra_proxy": 1,
                     "low_and_slow": 2}


@dataclass(frozen=True)
class SimConfig:
    """A simulated world. `SimConfig()` is the default preset; change it with dataclasses.replace."""

    name: str = "default"  # preset name, recorded in the summary
    start: str = "2026-02-02T00:00:00Z"  # first instant of the simulated window (UTC)
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))  # share of accounts per archetype
    rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))  # exchanges per account per day
    campaigns: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CAMPAIGNS))  # campaigns per distill type
    camouflage: float = 0.2  # 0..1: how hard campaigns imitate benign timing, IPs, cards, clients and content
    wording: str = "a"  # bank of template wordings used by campaigns, apps and eval suites ("a" or "b")
    models: tuple[str, ...] = ("frontier-large-2025-09", "frontier-fast-2025-06")  # models before the release
    new_model: str = "frontier-large-2026-02"  # model released inside the window
    release_day: float = 3.4  # days after start when new_model ships (clamped into the window)
    pivot_share: float = 0.5  # share of a pivoting campaign's traffic on new_model 24 h after release
    benign_adoption: float = 0.3  # share of ordinary benign traffic on new_model 5 days after release
    hydra_harvest_share: float = 0.55  # share of a hydra network's exchanges that are harvesting
    messages_share: float = 0.2  # share of clients that call the Anthropic-form `messages` endpoint
    error_rate: float = 0.012  # share of 4xx/5xx answers besides rate limiting
    content_keep: float = 0.03  # share of responses that keep (truncated) output text
    slice_minutes: int = 15  # generation time slice; memory is bounded by one slice of traffic

    def __post_init__(self) -> None:
        if set(self.mix) - set(ARCHETYPES) or not any(v > 0 for v in self.mix.values()):
            raise ValueError(f"mix needs positive shares for archetypes among {ARCHETYPES}")
        missing = {a for a, v in self.mix.items() if v > 0} - set(self.rates)
        if missing:
            raise ValueError(f"rates missing for {sorted(missing)}")
        if set(self.campaigns) - set(DISTILL):
            raise ValueError("campaigns may only be set for distill archetypes")
        if not 0 <= self.camouflage <= 1 or self.wording not in ("a", "b"):
            raise ValueError("camouflage must be in [0, 1] and wording 'a' or 'b'")
        if 1440 % self.slice_minutes:
            raise ValueError("slice_minutes must divide a day")


DEFAULT = SimConfig()

SHIFTED = SimConfig(
    name="shifted",
    start="2026-03-09T00:00:00Z",
    mix={
        "chat_user": 0.36, "shared_ip_user": 0.17, "cloud_app": 0.05, "enterprise": 0.09,
        "benchmark_runner": 0.012, "university_class": 0.04, "coding_agent": 0.05,
        "jailbreaker": 0.02, "legit_reseller": 0.01,
        "reasoning_harvest": 0.02, "agentic_harvest": 0.04, "coding_pivot": 0.02,
        "hydra_proxy": 0.05, "low_and_slow": 0.012,
    },
    rates={
        "chat_user": 11, "shared_ip_user": 9, "cloud_app": 120, "enterprise": 85,
        "benchmark_runner": 450, "university_class": 9, "coding_agent": 140, "jailbreaker": 18,
        "legit_reseller": 600, "reasoning_harvest": 45, "agentic_harvest": 110,
        "coding_pivot": 650, "hydra_proxy": 60, "low_and_slow": 12,
    },
    campaigns={"reasoning_harvest": 2, "agentic_harvest": 1, "coding_pivot": 1, "hydra_proxy": 2, "low_and_slow": 3},
    camouflage=0.6,
    wording="b",
    models=("nimbus-pro-1.5", "nimbus-lite-1.5"),
    new_model="nimbus-pro-2",
    release_day=2.2,
    pivot_share=0.65,
    benign_adoption=0.45,
    hydra_harvest_share=0.35,
    messages_share=0.35,
    error_rate=0.02,
    content_keep=0.05,
)

PRESETS: dict[str, SimConfig] = {"default": DEFAULT, "shifted": SHIFTED}
