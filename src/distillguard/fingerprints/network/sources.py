"""Finding and reading the IP range files of the shared data folder.

The files stay where the user keeps them (their licences ask for attribution, and they change upstream);
the package only reads them at run time. Layout below the shared data folder:

* ``ip/ip-location-db_asn/asn-ipv4.csv.gz`` - ``start_ip,end_ip,asn,org`` rows, IPv4 only (CC BY 4.0:
  RouteViews, NRO and DB-IP, https://db-ip.com).
* ``ip/x4bnet_lists_vpn/{vpn,datacenter}_ipv4.txt`` - one CIDR a line (MIT, X4BNet).
* ``ip/lord-alfred_ipranges/<provider>/ipv4_merged.txt`` - one CIDR a line per provider (CC0).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as csv

from .intervals import parse_ipv4, parse_ipv4_cidrs

ENV_VAR = "DISTILLGUARD_SHARED_DATA"
ASN_FILE = Path("ip/ip-location-db_asn/asn-ipv4.csv.gz")
VPN_FILE = Path("ip/x4bnet_lists_vpn/vpn_ipv4.txt")
DATACENTER_FILE = Path("ip/x4bnet_lists_vpn/datacenter_ipv4.txt")
PROVIDER_DIR = Path("ip/lord-alfred_ipranges")
PROVIDER_FILE = "ipv4_merged.txt"


def find_shared_data(shared_data: str | os.PathLike | None = None) -> Path | None:
    """The shared data folder to read, or None when there is none.

    A location the user names (the argument, else ``$DISTILLGUARD_SHARED_DATA``) is the only one tried,
    so a wrong path never silently picks up some other copy; otherwise the first ``shared/data`` found
    walking up from the working directory. A folder counts only if it has the ``ip/`` subfolder.
    """
    named = shared_data if shared_data is not None else os.environ.get(ENV_VAR) or None
    if named is not None:
        candidates = [Path(named)]
    else:
        cwd = Path.cwd()
        candidates = [folder / "shared" / "data" for folder in (cwd, *cwd.parents)]
    return next((folder for folder in candidates if (folder / "ip").is_dir()), None)


def read_asn(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array, pa.Array]:
    """(starts, ends, asn, org index, distinct org names) of the rows of the ASN file that parse."""
    table = csv.read_csv(
        root / ASN_FILE,
        read_options=csv.ReadOptions(column_names=["start", "end", "asn", "org"]),
        convert_options=csv.ConvertOptions(
            column_types={"start": pa.string(), "end": pa.string(), "asn": pa.int64(), "org": pa.string()}
        ),
    )
    start_ok, starts = parse_ipv4(table["start"].combine_chunks())
    end_ok, ends = parse_ipv4(table["end"].combine_chunks())
    # parse_ipv4 returns values for parsed rows only; keep the rows where both ends parsed.
    keep = start_ok & end_ok
    starts, ends = starts[keep[start_ok]], ends[keep[end_ok]]
    orgs = table["org"].combine_chunks().filter(pa.array(keep)).dictionary_encode()
    asn = table["asn"].combine_chunks().filter(pa.array(keep)).to_numpy(zero_copy_only=False)
    return starts, ends, asn, orgs.indices.to_numpy(zero_copy_only=False), orgs.dictionary


def read_cidrs(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive (starts, ends) of a one-CIDR-a-line file."""
    lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    return parse_ipv4_cidrs(pa.array(lines, type=pa.string()))


def provider_files(root: Path) -> dict[str, Path]:
    """Per-provider range files, keyed by provider folder name."""
    folder = root / PROVIDER_DIR
    if not folder.is_dir():
        return {}
    return {p.parent.name: p for p in sorted(folder.glob(f"*/{PROVIDER_FILE}"))}
