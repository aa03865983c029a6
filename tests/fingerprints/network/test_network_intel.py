import gzip
import ipaddress
import time

import iporigin
import numpy as np
import pyarrow as pa
import pytest

from distillguard.fingerprints.network import ENV_VAR, SCHEMA, NetworkInfo, NetworkIntel, find_shared_data
from distillguard.fingerprints.network.intel import _load
from distillguard.fingerprints.network.intervals import Intervals, parse_ipv4
from distillguard.fingerprints.network.sources import PROVIDER_DIR, PROVIDER_FILE

ASN_ROWS = """\
5.0.0.0,5.0.255.255,64500,Example Hosting Ltd
5.0.16.0,5.0.16.255,64501,"Example University, Campus"
5.1.0.0,5.1.255.255,64502,Example Mobile Telecom
5.2.0.0,5.2.1.255,64503,Narrow Telecom
5.2.1.0,5.2.3.255,64504,Wide Broadband
5.3.0.0,5.3.0.255,64505,First Copy Telecom
5.3.0.0,5.3.0.255,64506,Second Copy Telecom
"""


def write_shared_data(root):
    ip = root / "ip"
    (ip / "ip-location-db_asn").mkdir(parents=True)
    with gzip.open(ip / "ip-location-db_asn" / "asn-ipv4.csv.gz", "wt") as f:
        f.write(ASN_ROWS)
    (ip / "x4bnet_lists_vpn").mkdir()
    (ip / "x4bnet_lists_vpn" / "vpn_ipv4.txt").write_text("5.1.7.0/24\n\n")
    (ip / "x4bnet_lists_vpn" / "datacenter_ipv4.txt").write_text("5.1.0.0/20\nnot a cidr\n")
    providers = {"amazon": "5.0.0.0/20", "openai": "5.0.3.0/24", "protonvpn": "5.1.7.9/32",
                 "apple-proxy": "5.0.5.0/24"}
    for provider, cidrs in providers.items():
        (root / PROVIDER_DIR / provider).mkdir(parents=True)
        (root / PROVIDER_DIR / provider / PROVIDER_FILE).write_text(cidrs + "\n")
    return root


@pytest.fixture
def no_iporigin(monkeypatch):
    """Keep iporigin's real ranges out of tests about the shared-data logic."""
    monkeypatch.setattr(iporigin, "classify", lambda address: iporigin.Origin(str(address), iporigin.UNKNOWN))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return write_shared_data(tmp_path_factory.mktemp("shared") / "data")


@pytest.fixture(scope="module")
def real():
    root = find_shared_data()
    if root is None:
        pytest.skip("no shared data folder")
    return NetworkIntel.load(root)


def first_address(root, provider):
    line = (root / PROVIDER_DIR / provider / PROVIDER_FILE).read_text().split()[0]
    return str(ipaddress.ip_network(line)[0])


@pytest.mark.parametrize(
    "ip, kind, provider, asn",
    [
        ("5.0.3.1", "bot", "openai", 64500),  # a bot range inside a cloud range names the bot
        ("5.0.4.1", "hosting", "amazon", 64500),
        ("5.0.5.1", "relay", "apple-proxy", 64500),  # a privacy relay in a cloud range: shared, not hosting
        ("5.0.16.1", "education", None, 64501),  # nested ASN row wins inside its range...
        ("5.0.200.1", "hosting", None, 64500),  # ...and the enclosing row resumes after it
        ("5.1.7.9", "vpn", "protonvpn", 64502),
        ("5.1.7.10", "vpn", None, 64502),  # generic VPN list beats the datacenter list around it
        ("5.1.8.1", "hosting", None, 64502),
        ("5.1.100.1", "mobile", None, 64502),
        ("5.2.1.1", "residential", None, 64503),  # the narrower of two overlapping rows
        ("5.2.2.1", "residential", None, 64504),
        ("5.3.0.1", "residential", None, 64506),  # identical rows: the later one
        ("6.0.0.1", "unknown", None, None),
        ("192.168.1.1", "private", None, None),
    ],
)
def test_synthetic_sources_and_overlaps(synthetic, no_iporigin, ip, kind, provider, asn):
    info = NetworkIntel.load(synthetic).classify_many([ip]).to_pylist()[0]
    assert (info["kind"], info["provider"], info["asn"]) == (kind, provider, asn)


def test_org_name_with_comma_and_prefix(synthetic, no_iporigin):
    info = NetworkIntel.load(synthetic).classify("5.0.16.77")
    assert info.as_org == "Example University, Campus"
    assert info.prefix == "5.0.16.0/24"
    assert info.is_valid


def test_many_keeps_order_schema_and_bad_input(synthetic, no_iporigin):
    ips = ["5.0.4.1", "garbage", None, "", " 5.0.4.1 ", "01.2.3.4", "256.1.1.1", "5.0.4.1", "::ffff:5.0.4.2"]
    table = NetworkIntel.load(synthetic).classify_many(ips)
    assert table.schema == SCHEMA
    assert table["ip"].to_pylist() == ips
    assert table["is_valid"].to_pylist() == [True, False, False, False, True, False, False, True, True]
    kinds = ["hosting", *["unknown"] * 3, "hosting", "unknown", "unknown", "hosting", "hosting"]
    assert table["kind"].to_pylist() == kinds
    assert table["prefix"].to_pylist()[-1] == "5.0.4.0/24"  # IPv4-mapped IPv6 is looked up as IPv4


def test_accepts_arrow_input(synthetic, no_iporigin):
    chunked = pa.chunked_array([["5.0.4.1"], ["6.0.0.1", None]])
    table = NetworkIntel.load(synthetic).classify_many(chunked)
    assert table["kind"].to_pylist() == ["hosting", "unknown", "unknown"]


def test_intervals_build_resolves_nesting_by_order():
    starts, ends = np.array([0, 10, 10, 40]), np.array([100, 20, 20, 60])
    table = Intervals.build(starts, ends, np.array([1, 2, 3, 4]), order=np.array([2, 1, 3, 0]))
    assert table.lookup(np.array([5, 15, 25, 50, 100, 101])).tolist() == [1, 3, 1, 4, 1, -1]
    assert (table.starts[1:] > table.ends[:-1]).all()


def test_parse_ipv4_matches_ipaddress():
    samples = ["0.0.0.0", "255.255.255.255", "1.2.3.4", "1.2.3", "1.2.3.4.5", "1.02.3.4", "1.2.256.4", ""]
    ok, values = parse_ipv4(pa.array(samples))
    expected = []
    for text in samples:
        try:
            expected.append(int(ipaddress.IPv4Address(text)))
        except ValueError:
            expected.append(None)
    assert ok.tolist() == [v is not None for v in expected]
    assert values.tolist() == [v for v in expected if v is not None]


def test_find_shared_data(tmp_path, monkeypatch, synthetic):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
    assert find_shared_data() is None  # a named location is never swapped for another one
    assert find_shared_data(synthetic) == synthetic
    monkeypatch.delenv(ENV_VAR)
    write_shared_data(tmp_path / "shared" / "data")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    assert find_shared_data() == tmp_path / "shared" / "data"


def test_falls_back_to_iporigin_without_shared_data(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing"))
    intel = NetworkIntel.load()
    assert intel.data_dir is None
    aws = intel.classify("52.95.110.1")
    assert (aws.kind, aws.provider, aws.asn, aws.as_org) == ("hosting", "amazon", None, None)
    assert intel.classify("185.220.101.1").kind == "tor"
    assert intel.classify("10.0.0.1").kind == "private"
    assert intel.classify("nonsense").is_valid is False


def test_ipv6(real):
    google = real.classify("2001:4860:4860::8888")
    assert (google.kind, google.provider, google.asn) == ("hosting", "google", None)
    assert google.prefix == "2001:4860:4860::/48"
    assert real.classify("2001:db8::1").kind == "private"
    assert real.classify("2001:db8::zz").is_valid is False


def test_real_examples(real):
    proton = real.classify(first_address(real.data_dir, "protonvpn"))
    assert (proton.kind, proton.provider) == ("vpn", "protonvpn")
    amazon = real.classify(first_address(real.data_dir, "amazon"))
    assert (amazon.kind, amazon.provider) == ("hosting", "amazon")
    campus = real.classify("128.54.0.1")  # UC San Diego's AS
    assert (campus.kind, campus.asn) == ("education", 7377)
    assert real.classify("10.0.0.1").kind == "private"
    assert real.classify("not.an.ip.address").kind == "unknown"


def test_real_overlapping_asn_rows(real):
    # The ASN file's known overlap: 214.95.0.0-215.0.255.255 (AS749) and 215.0.0.0-215.1.3.255 (AS721).
    assert real.classify("214.95.0.1").asn == 749
    assert real.classify("215.0.0.1").asn == 721
    assert real.classify("215.1.0.1").asn == 721


def test_real_load_and_lookup_speed(real):
    started = time.perf_counter()
    _load.__wrapped__(real.data_dir)  # bypass the per-process cache
    assert time.perf_counter() - started < 10
    rng = np.random.default_rng(0)
    distinct = [str(ipaddress.IPv4Address(int(v))) for v in rng.integers(1 << 24, 223 << 24, 10_000)]
    ips = [distinct[i] for i in rng.integers(0, len(distinct), 100_000)]
    started = time.perf_counter()
    table = real.classify_many(ips)
    assert time.perf_counter() - started < 5
    assert table.num_rows == len(ips)


def test_classify_matches_classify_many(real):
    ips = ["52.95.110.1", "10.0.0.1", "128.54.0.1", "185.220.101.1", " 8.8.8.8", "::ffff:8.8.4.4"]
    ips += ["2001:db8::1", "2001:4860::1", "fe80::1%eth0", "1.2.3", "", "zz", "6.0.0.1", "300.1.1.1"]
    rows = real.classify_many(ips).to_pylist()
    assert [real.classify(ip) for ip in ips] == [NetworkInfo(**row) for row in rows]
    assert real.classify(None).is_valid is False
