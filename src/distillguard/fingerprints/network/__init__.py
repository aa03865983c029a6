"""IP network intelligence: what kind of network (hosting, VPN, mobile, campus, ...) an address is on."""

from .intel import KINDS, SCHEMA, NetworkInfo, NetworkIntel
from .sources import ENV_VAR, find_shared_data

__all__ = ["ENV_VAR", "KINDS", "SCHEMA", "NetworkInfo", "NetworkIntel", "find_shared_data"]
