"""The evaluation report: figures, the project's targets, and a Rich rendering."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rich.console import Group
from rich.table import Table

# A campaign counts as detected when this share of its accounts is flagged.
DETECTED_SHARE = 0.8
# The project's targets.
RECALL_TARGET = 0.95
BENIGN_FPR_TARGET = 0.005
ARI_TARGET = 0.9
HYDRA_AUROC_TARGET = 0.95
# Benign archetypes where a single false flag is unacceptable: flagging them cuts off
# whole organisations, classes or resellers' customers at once.
PROTECTED_ARCHETYPES = ("enterprise", "university_class", "legit_reseller")


@dataclass
class ArchetypeFP:
    archetype: str
    flagged: int
    total: int

    @property
    def rate(self) -> float:
        return self.flagged / self.total if self.total else 0.0


@dataclass
class CampaignRecall:
    campaign: str
    archetype: str
    accounts: int
    flagged: int

    @property
    def recall(self) -> float:
        return self.flagged / self.accounts if self.accounts else 0.0

    @property
    def detected(self) -> bool:
        return self.accounts > 0 and self.recall >= DETECTED_SHARE


@dataclass
class Target:
    name: str
    value: str
    met: bool | None  # None: the truth holds nothing to judge it on
    detail: str = ""


@dataclass
class EvalReport:
    truth_accounts: int
    distill_accounts: int
    benign_accounts: int
    missing_from_scan: int  # truth accounts the scan never lists: counted as not flagged, score 0
    extra_in_scan: int  # scan accounts absent from the truth: not scored
    tp: int
    fp: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    benign_fpr: float | None
    benign_by_archetype: list[ArchetypeFP]
    campaigns: list[CampaignRecall]
    predicted_campaigns: int
    # Grouping agreement. The headline is over truly-distill accounts: it asks whether each real
    # campaign came out as one predicted campaign, and a missed account (no campaign_id) counts
    # against it as a singleton. The second is over flagged truth accounts: it asks whether the
    # scan's campaigns are pure, benign accounts there being singletons on the truth side.
    ari_distill: float | None
    ari_flagged: float | None
    account_auroc: float | None
    exchange_auroc: float | None
    hydra_exchange_auroc: float | None  # over accounts whose truth exchanges mix harvest and normal
    hydra_accounts: int
    truth_exchanges: int
    exchanges_missing_from_scan: int  # scored 0
    exchange_note: str = ""  # why exchange AUROC is unavailable, when it is
    targets: list[Target] = field(default_factory=list)

    @property
    def archetypes_with_fp(self) -> list[str]:
        return [a.archetype for a in self.benign_by_archetype if a.flagged]

    @property
    def detected_campaigns(self) -> list[str]:
        return [c.campaign for c in self.campaigns if c.detected]

    @property
    def missed_campaigns(self) -> list[str]:
        return [c.campaign for c in self.campaigns if not c.detected]

    @property
    def archetypes_detected(self) -> dict[str, bool]:
        """A campaign archetype is detected when every one of its campaigns is."""
        out: dict[str, bool] = {}
        for c in self.campaigns:
            out[c.archetype] = out.get(c.archetype, True) and c.detected
        return out

    @property
    def _unavailable(self) -> str:
        return "unavailable" if self.exchange_note else "n/a"

    @property
    def targets_met(self) -> bool:
        return all(t.met is not False for t in self.targets)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["benign_by_archetype"] = [{**asdict(a), "rate": a.rate} for a in self.benign_by_archetype]
        d["campaigns"] = [{**asdict(c), "recall": c.recall, "detected": c.detected} for c in self.campaigns]
        d.update(archetypes_with_fp=self.archetypes_with_fp, detected_campaigns=self.detected_campaigns,
                 missed_campaigns=self.missed_campaigns, archetypes_detected=self.archetypes_detected,
                 targets_met=self.targets_met)
        return d

    def __rich__(self) -> Group:
        figures = Table(title="Detection quality", show_header=False)
        figures.add_column(style="bold")
        figures.add_column(justify="right")
        rows = [
            ("truth accounts (distill / benign)", f"{self.truth_accounts:,} ({self.distill_accounts:,} / "
                                                  f"{self.benign_accounts:,})"),
            ("missing from scan / extra in scan", f"{self.missing_from_scan:,} / {self.extra_in_scan:,}"),
            ("flagged: true / false positives", f"{self.tp:,} / {self.fp:,}"),
            ("precision", _num(self.precision)), ("recall", _num(self.recall)), ("F1", _num(self.f1)),
            ("benign false-positive rate", _pct(self.benign_fpr)),
            ("campaigns detected", f"{len(self.detected_campaigns)} / {len(self.campaigns)}"),
            ("predicted campaigns", f"{self.predicted_campaigns:,}"),
            ("ARI over distill accounts", _num(self.ari_distill)),
            ("ARI over flagged accounts", _num(self.ari_flagged)),
            ("account AUROC", _num(self.account_auroc)),
            ("exchange AUROC", _num(self.exchange_auroc, self._unavailable)),
            (f"exchange AUROC in hydra accounts ({self.hydra_accounts:,})",
             _num(self.hydra_exchange_auroc, self._unavailable)),
        ]
        if self.exchanges_missing_from_scan:
            rows.append(("truth exchanges missing from scan", f"{self.exchanges_missing_from_scan:,}"))
        for label, value in rows:
            figures.add_row(label, value)

        campaigns = Table("campaign", "archetype", "accounts", "flagged", "recall", "detected",
                          title="Campaigns (truth)")
        for c in self.campaigns:
            campaigns.add_row(c.campaign, c.archetype, str(c.accounts), str(c.flagged), f"{c.recall:.0%}",
                              "[green]yes[/green]" if c.detected else "[red]no[/red]")

        benign = Table("archetype", "flagged", "total", "rate", title="Benign accounts flagged")
        for a in self.benign_by_archetype:
            style = "red" if a.flagged else ""
            benign.add_row(a.archetype, f"[{style}]{a.flagged}[/{style}]" if style else "0", str(a.total),
                           f"{a.rate:.1%}")

        targets = Table("target", "value", "status", "detail", title="Targets")
        for t in self.targets:
            status = {True: "[green]met[/green]", False: "[red]NOT met[/red]", None: "[dim]n/a[/dim]"}[t.met]
            targets.add_row(t.name, t.value, status, t.detail)
        return Group(figures, campaigns, benign, targets)


def check_targets(r: EvalReport) -> list[Target]:
    archetypes = r.archetypes_detected
    missed = sorted(a for a, ok in archetypes.items() if not ok)
    protected = [a for a in r.benign_by_archetype if a.archetype in PROTECTED_ARCHETYPES and a.flagged]

    def at_least(value: float | None, goal: float) -> bool | None:
        return None if value is None else value >= goal

    # No mixed accounts in the truth: nothing to judge. Mixed accounts but no exchange scores: not met.
    hydra_met = (None if not r.hydra_accounts
                 else r.hydra_exchange_auroc is not None and r.hydra_exchange_auroc >= HYDRA_AUROC_TARGET)
    return [
        Target("every campaign archetype detected", f"{len(archetypes) - len(missed)}/{len(archetypes)}",
               not missed if archetypes else None, ", ".join(missed)),
        Target(f"account recall ≥ {RECALL_TARGET}", _num(r.recall), at_least(r.recall, RECALL_TARGET)),
        Target(f"benign flagged ≤ {BENIGN_FPR_TARGET:.1%}", _pct(r.benign_fpr),
               None if r.benign_fpr is None else r.benign_fpr <= BENIGN_FPR_TARGET),
        Target(f"no benign flagged in {' / '.join(PROTECTED_ARCHETYPES)}", str(sum(a.flagged for a in protected)),
               not protected, ", ".join(f"{a.archetype} {a.flagged}/{a.total}" for a in protected)),
        Target(f"ARI over distill accounts ≥ {ARI_TARGET}", _num(r.ari_distill), at_least(r.ari_distill, ARI_TARGET)),
        Target(f"exchange AUROC inside hydra ≥ {HYDRA_AUROC_TARGET}", _num(r.hydra_exchange_auroc, r._unavailable),
               hydra_met, r.exchange_note),
    ]


def _num(x: float | None, missing: str = "n/a") -> str:
    return missing if x is None else f"{x:.3f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2%}"
