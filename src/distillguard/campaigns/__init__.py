"""Campaign stage: clusters that are both coordinated and harvest-like, with scores and evidence."""

from .assemble import assemble_campaigns
from .config import CampaignConfig
from .output import write_scan_output

__all__ = ["CampaignConfig", "assemble_campaigns", "write_scan_output"]
