"""Classification rules kept as data, so they can be reviewed and tuned without touching the lookup code.

Everything here is judgement, not fact: published range lists say who runs an address block, but nothing
says whether an autonomous system serves homes, phones, a campus or a company. ``ORG_RULES`` guesses that
from the AS organisation name and will be wrong for some networks (a telecom that also runs a cloud, a
university's hosting arm). Treat those kinds as a weak prior.
"""

# Every kind an address can get, strongest first. When several sources speak about one address the
# strongest kind wins: an anonymiser or a declared bot says more about a request than the hosting range it
# runs in, and any list-based kind says more than a guess from the AS name.
KINDS = (
    "private",
    "tor",
    "vpn",
    "proxy",
    "relay",
    "bot",
    "cdn",
    "hosting",
    "mobile",
    "education",
    "business",
    "residential",
    "unknown",
)

# Kind of each named provider, keyed by the folder names of the per-provider range lists and by the slugs
# of iporigin's provider names. Order matters when two providers list the very same block (the two
# DuckDuckGo bots share their ranges): the earlier one names it. Providers missing here count as hosting.
PROVIDER_KINDS = {
    "tor": "tor",
    "protonvpn": "vpn",
    "mullvad": "vpn",
    # iCloud Private Relay egress: a privacy relay shared by very many unrelated Apple users at once, so
    # sharing one of its addresses says no more than sharing a carrier's CGNAT pool.
    "apple-proxy": "relay",
    "openai": "bot",
    "perplexity": "bot",
    "googlebot": "bot",
    "bing": "bot",
    "duckduckbot": "bot",
    "duckassistbot": "bot",
    "pingdom": "bot",
    "statuscake": "bot",
    "cloudflare": "cdn",
    "amazon": "hosting",
    "google": "hosting",
    "microsoft": "hosting",
    "oracle": "hosting",
    "digitalocean": "hosting",
    "linode": "hosting",
    "vultr": "hosting",
    "github": "hosting",
    "facebook": "hosting",
    "twitter": "hosting",
    "telegram": "hosting",
}

# iporigin provider names whose slug would not match the range-list folder name for the same operator.
IPORIGIN_ALIASES = {
    "Amazon AWS": "amazon",
    "Google Cloud": "google",
    "Microsoft Azure": "microsoft",
    "Oracle Cloud": "oracle",
    "Apple Private Relay": "apple-proxy",
    "Bingbot": "bing",
    "GPTBot": "openai",
    "PerplexityBot": "perplexity",
}

# iporigin reports non-global addresses as "reserved"; here they are "private" like the ranges below.
IPORIGIN_KINDS = {"reserved": "private"}

# IPv4 blocks that are never a public client address: RFC 1918, loopback, link-local, carrier-grade NAT
# (100.64/10), documentation, benchmarking, multicast and reserved space. A request logged from one of
# these came through an internal hop or a mis-set forwarding header, so it identifies no network.
PRIVATE_IPV4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/3",
)

# (kind, RE2 pattern) matched case-insensitively against the AS organisation name; the first matching rule
# wins. Specific kinds come first because ISP words ("telecom", "communications") also appear in the names
# of universities' and clouds' networks. Large networks whose names carry no telling word, or a misleading
# one (an ISP called "... Finance LLC"), are named.
ORG_RULES = (
    ("residential", r"google fiber|wideopenwest"),
    (
        "education",
        r"universi|college|school|academ|polytechn|institute of technology|education|research network"
        r"|research organi[sz]ation|forschungsnetz|\bjisc\b|\brenater\b|\bsurf b\.?v|\bgeant\b|internet2"
        r"|\btanet\b|\bcernet\b",
    ),
    ("vpn", r"\bvpn|private internet access|mullvad|surfshark|cyberghost|ipvanish|windscribe|tunnelbear"),
    ("proxy", r"prox(y|ies)"),
    ("cdn", r"\bcdn|content delivery|akamai|fastly|cloudflare|edgecast|limelight|stackpath"),
    (
        "hosting",
        r"host|cloud|data ?cent|server|\bcolo(cation)?\b|\bvps\b|dedicated|amazon|google|microsoft"
        r"|digitalocean|\bovh|hetzner|linode|leaseweb|contabo|vultr|choopa|\bm247\b|datacamp|scaleway|alibaba"
        r"|tencent|oracle",
    ),
    (
        "mobile",
        r"\bmobile|wireless|cellular|cellco|\blte\b|radiotelephone|telekomunikasi selular|telkomsel"
        r"|reliance jio|\bmtn\b|docomo|sk telecom",
    ),
    (
        "business",
        r"\bbusiness\b|\benterprises?\b|\bbank|insurance|financ|hospital|health|pharma|\bmotor|automotive"
        r"|airline|airport|government"
        r"|ministry|department of|\bdod\b|\bgov|municipal|council|defen[cs]e|\barmy\b|\bnavy\b|air force"
        r"|usaisc|national aeronautics|postal service|procter|eli lilly|mercedes-benz",
    ),
    (
        "residential",
        r"teleco|telekom|telefon|broadband|cable|fib(er|re)|\bdsl|internet service|\bisp\b|communications"
        r"|chinanet|china unicom|china telecom|comcast|charter|verizon|at&t|virgin media|sky uk|talktalk"
        r"|vodafone|orange|telia|telenor|swisscom|proximus|\bkpn\b|free sas|bouygues|fastweb|rostelecom"
        r"|softbank|kddi|\bsk broadband|lg powercomm|lg dacom|bell canada|rogers|\bshaw\b|telus|frontier"
        r"|windstream|brightspeed|videotron|\brcn\b|telstra|optus|\btpg\b|airtel|\btim\b|wind tre"
        r"|tele2|odido|\btdc\b|claro|comcel|uninet|viettel|vnpt|etisalat|bharat sanchar|vimpelcom|telkom"
        r"|biglobe|\bjcom\b|optage|starhub|netia|versatel",
    ),
)
