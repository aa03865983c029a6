"""Detection quality of a scan output directory against the simulator's ground truth.

    from distillguard.evaluate import evaluate
    report = evaluate("sim/", "scan-out/")   # truth_accounts.csv [+ truth_exchanges.csv] vs the scan contract
    rich.print(report); report.to_dict(); report.targets_met
"""

from .metrics import evaluate
from .result import ArchetypeFP, CampaignRecall, EvalReport, Target

__all__ = ["ArchetypeFP", "CampaignRecall", "EvalReport", "Target", "evaluate"]
