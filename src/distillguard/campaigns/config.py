"""Thresholds of the campaign verdict, in one validated place."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class CampaignConfig:
    # A campaign needs both: accounts that link to each other, and traffic that reads as harvesting.
    min_content: float = 0.6            # exchange-weighted mean account score of the cluster
    org_min_share: float = 0.8          # a group this much inside one organisation is its fleet...
    org_min_content: float = 0.8        # ... and needs this much content to be a campaign
    min_coordination: float = 0.3       # strength of the links that hold the cluster together
    min_score: float = 0.5              # geometric mean of content and coordination
    min_accounts: int = 3               # two accounts that share a household IP are not an operation
    min_suspicion: float = 0.4          # accounts below this never join a group
    attach_min_score: float = 0.97      # a lone account this suspicious joins the group it links to most
    attach_bound_min_score: float = 0.9  # ... or this suspicious, where that link shares infrastructure too
    attach_placed_min_places: int = 2   # ... or attach_placed_min_score, where its strong links into the group
    attach_placed_min_score: float = 0.8  # share this many distinct IPs, cards or network prefixes
    placing_min_share: float = 0.8     # a network prefix places only if this share of its accounts are suspicious
    min_link_weight: float = 0.6        # links weaker than this do not join accounts
    max_indicator_accounts: int = 200   # an indicator on more suspicious accounts is too broad to pair by
    hub_min_accounts: int = 50          # an indicator on more suspicious accounts (a hub), who are...
    hub_min_share: float = 0.9          # ... this share of its holders, holds them in one group
    resolution: float = 0.25            # Leiden CPM: a group's infrastructure links must average this weight
    content_resolution: float = 0.5     # the same for groups held by content links (capped below 1)
    content_min_suspicion: float = 0.6  # accounts grouped by content alone need this much suspicion...
    content_min_sure: float = 0.25      # ... and this share of their exchanges plainly harvesting (pool_sure_score)
    share_min_exchanges: int = 20       # an account's harvest share counts as evidence from this many exchanges
    evaluator_min_share: float = 0.6    # share of requests also sent to another model: an evaluation harness
    content_min_focus: float = 0.5      # ... and a capability mix this close (cosine) to their group's
    # A lone account is flagged only when its own traffic leaves little doubt.
    solo_min_score: float = 0.97
    solo_min_exchanges: int = 200
    solo_min_harvest_share: float = 0.5  # ... and most of its own requests score as harvesting
    # A diluted group: accounts (no verified organisation's keys) that each send a visible share of
    # harvest-like requests among ordinary ones, held together by shared infrastructure, judged as a whole.
    pool_min_member_share: float = 0.15   # each member's own harvest share (with share_min_exchanges exchanges)
    pool_min_accounts: int = 5            # several accounts, not a household
    pool_sure_score: float = 0.9          # an exchange scored this high is plainly harvesting
    pool_min_harvest_share: float = 0.2   # pooled share of the group's exchanges scored >= 0.5 ...
    pool_min_sure_share: float = 0.1      # ... and pooled share scored >= pool_sure_score
    pool_min_coordination: float = 0.6    # the group's coordination (sync, dense blocks, link strength)
    # A campaign takes in accounts on its own infrastructure: held by this many members...
    extend_min_members: int = 3
    extend_min_share: float = 0.5         # ... who are at least this share of all its holders
    extend_min_suspicion: float = 0.4     # a card of fewer members takes an account with this score
    evidence_lines: int = 8

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value < 0 or (f.type == "float" and not f.name.endswith("resolution") and value > 1):
                raise ValueError(f"campaign config: {f.name}={value} is out of range")
