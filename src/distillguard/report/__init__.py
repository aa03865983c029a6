"""A self-contained HTML report of a scan output directory (scan output contract).

    from distillguard.report import write_report
    write_report("scan-out/")                                 # -> scan-out/report.html
    write_report("scan-out/", workspace="distillguard.duckdb")  # + timelines, account_links edges

One file, CSS and JS inline, nothing loaded from the network: it opens offline and can be
mailed or attached to a case as it is.
"""

from .page import write_report

__all__ = ["write_report"]
