"""Who is who: one factory per archetype, creating its accounts and the actors that drive them.

Each factory gets the world, a number of accounts and the mean exchanges per account per
day. Campaign factories also get a campaign id. Benign factories are written to be hard
false-positive traps: shared IPs, shared cards and orgs, same-day sign-ups, bursts, fixed
templates and tools all occur among them too.
"""

from __future__ import annotations

from typing import Callable

from . import phrasing as ph
from . import schedule
from .actors import Actor, Bench, Proxy, campaign_profile, diurnal, fresh, from_pool, hetero, home_or, kind_of, relay
from .exchange import restyle
from .network import CLOUDS
from .world import COUNTRIES, DAY_MS, HOUR_MS, Account, World

PERSON_UA = {"openai_py": 3, "openai_js": 1.5, "http": 1.5, "browser": 1, "mobile": 1, "langchain": 0.7, "anthropic": 1}
PERSON_STYLE = {"plain": 5, "stream": 3, "reasoning": 1, "sampling": 0.3}
CHAT_KINDS = {"chat": 6, "code": 1.2, "instruction": 1, "vision": 0.4, "analysis": 0.2, "tools": 0.2, "cot": 0.1}
# Ordinary customers sometimes ask for reasoning or synthetic data too; that alone is not harvesting.
ORDINARY = {"chat": 5, "code": 2, "instruction": 1.5, "tools": 1, "vision": 0.5, "analysis": 0.5, "cot": 0.2,
            "meta": 0.05}
HARVEST = {"cot": 3, "code": 2, "probe": 1.5, "judge": 1, "tools": 1, "meta": 0.3}
HARVEST_COUNTRIES = ("US", "SG", "GB", "JP", "DE", "CA", "AU", "NL")  # billing countries campaigns claim


def _split(r, n: int, lo: int, hi: int):
    """Group sizes (orgs, classes, labs) that add up to n."""
    while n > 0:
        size = min(n, r.randint(lo, hi))
        n -= size
        yield size


def _tz(cc: str) -> float:
    return COUNTRIES.get(cc, (0, (0,)))[1][0]


# benign --------------------------------------------------------------------------------
def _person(w: World, n: int, rate: float, archetype: str, ip_for: Callable, kinds: dict, *, created=(1, 1000),
            verified=0.3, shape=("day", "day", "evening"), unit=3.0, gap=90.0) -> list[Actor]:
    r, out = w.r, []
    for _ in range(n):
        cc, tz = w.country()
        ip = ip_for(cc, w.net.ip("residential", cc))
        kind = "individual" if r.random() < 0.93 else "startup"
        acct = w.account(archetype, kind=kind, created=w.before(*created), country=cc, mail=w.mail(), card=w.card(),
                         signup_ip=ip(), verified=verified, org=w.org_for(kind), ip=ip,
                         client=w.client(PERSON_UA, PERSON_STYLE), keys=1 + (r.random() < 0.2),
                         pref=r.uniform(0.4, 0.95))
        prof = diurnal(w, tz, r.choice(shape))
        out.append(Actor(w, [acct], rate * hetero(r), prof, kinds, unit=unit, timing="session", gap=gap))
    return out


def chat_user(w: World, n: int, rate: float) -> list[Actor]:
    def ip_for(cc: str, home: str) -> Callable[[], str]:
        return home_or(w, home, lambda: w.net.ip("mobile", cc), w.r.uniform(0, 0.35))
    return _person(w, n, rate, "chat_user", ip_for, CHAT_KINDS)


def shared_ip_user(w: World, n: int, rate: float) -> list[Actor]:
    """Carrier-grade NAT and VPN exits put many unrelated people on the same few addresses."""
    size = max(3, n // 30)

    def ip_for(cc: str, home: str) -> Callable[[], str]:
        if w.r.random() < 0.6:
            cgnat = w.shared_pool(("cgnat", cc), lambda: w.net.pool("mobile", size, cc))
            return home_or(w, home, from_pool(w, cgnat), 0.8)
        return home_or(w, home, from_pool(w, w.shared_pool(("vpn",), lambda: w.net.pool("vpn", 2 * size))), 0.85)
    return _person(w, n, rate, "shared_ip_user", ip_for, CHAT_KINDS)


def jailbreaker(w: World, n: int, rate: float) -> list[Actor]:
    def ip_for(cc: str, home: str) -> Callable[[], str]:
        return home_or(w, home, from_pool(w, w.shared_pool(("vpn",), lambda: w.net.pool("vpn", 24))), 0.6)
    return _person(w, n, rate, "jailbreaker", ip_for, {"jailbreak": 6, "chat": 2}, created=(0, 40), verified=0.1,
                   shape=("evening",), unit=2.5, gap=40)


def cloud_app(w: World, n: int, rate: float) -> list[Actor]:
    """Startup fleets (prod, staging, dev accounts) behind cloud NAT; some share a platform's egress."""
    r, out = w.r, []
    paas = [w.shared_pool(("paas", i), lambda: w.net.pool("cloud", 4)) for i in range(3)]
    app_ua = {"openai_js": 3, "openai_py": 2, "http": 1, "mobile": 1, "anthropic": 1, "langchain": 1}
    kinds = {"app": 8, "tools": 1, "vision": 0.6, "analysis": 0.3}
    for size in _split(r, n, 1, 3):
        cc, tz = w.country()
        dom, org, card = w.domain(), w.org(), w.card()
        egress = r.choice(paas) if r.random() < 0.5 else w.net.pool(f"cloud:{r.choice(CLOUDS[:3])}", r.randint(1, 3))
        client = w.client(app_ua, {"plain": 1, "stream": 1})
        system = r.choice(ph.APP_SYSTEM[w.cfg.wording]).format(brand=dom.split(".")[0].capitalize())
        created, prof = w.before(20, 700), diurnal(w, tz, "day")
        for _ in range(size):
            acct = w.account("cloud_app", kind="startup", created=created + r.randrange(30 * DAY_MS), country=cc,
                             mail=dom, card=card, signup_ip=w.net.ip("residential", cc), verified=0.6, org=org,
                             client=client, ip=from_pool(w, egress), keys=r.randint(2, 4), pref=r.uniform(0.3, 0.9))
            acct.state["system"] = system
            out.append(Actor(w, [acct], rate * hetero(r, 1.0), prof, kinds, throttle=0.005))
    return out


def enterprise(w: World, n: int, rate: float) -> list[Actor]:
    """Many accounts and keys on one org and one card, onboarded in batches, office hours."""
    r, out = w.r, []
    ent_ua = {"openai_py": 2, "langchain": 2, "http": 1, "openai_js": 1, "anthropic": 1}
    kinds = {"rag": 4, "analysis": 2, "instruction": 2, "code": 1.5, "chat": 1, "tools": 1, "meta": 0.1}
    for size in _split(r, n, 3, 25):
        cc, tz = w.country()
        dom, org, card = w.domain(), w.org(), w.card()
        office, backend = w.net.pool("business", r.randint(2, 4)), w.net.pool("cloud", r.randint(2, 5))
        batches, prof = [w.before(30, 900) for _ in range(r.randint(1, 3))], diurnal(w, tz, "office")
        for _ in range(size):
            home = w.net.ip("residential", cc)

            def ip(o=office, b=backend, h=home) -> str:  # mostly the office, some backend jobs, some from home
                x = r.random()
                return o[r.randrange(len(o))] if x < 0.6 else b[r.randrange(len(b))] if x < 0.85 else h
            acct = w.account("enterprise", kind="enterprise", created=r.choice(batches) + r.randrange(8 * HOUR_MS),
                             country=cc, mail=dom, card=card, signup_ip=office[0], verified=0.9, org=org, ip=ip,
                             client=w.client(ent_ua, {"plain": 3, "eval": 1, "stream": 2, "reasoning": 1}),
                             keys=r.randint(2, 6), pref=r.uniform(0.5, 0.95))
            out.append(Actor(w, [acct], rate * hetero(r), prof, kinds, unit=1.5, timing="session", gap=120,
                             throttle=0.003))
    return out


def benchmark_runner(w: World, n: int, rate: float) -> list[Actor]:
    """Eval suites in bursts from CI machines; the new model gets evaluated within hours."""
    r, out = w.r, []
    bench_ua = {"openai_py": 2, "http": 2, "anthropic": 1, "langchain": 0.5}
    for size in _split(r, n, 1, 2):
        kind = kind_of(r, {"research": 2, "enterprise": 1, "startup": 1})
        cc = r.choice(("US", "GB", "CA", "DE", "SG"))
        org, card, dom, ci = w.org_for(kind), w.card(), w.domain(), w.net.pool("cloud", 3)
        for _ in range(size):
            acct = w.account("benchmark_runner", kind=kind, created=w.before(60, 900), country=cc, mail=dom,
                             card=card, signup_ip=ci[0], verified=0.8, org=org, ip=from_pool(w, ci),
                             client=w.client(bench_ua, {"eval": 6, "reasoning": 1, "plain": 1}))
            starts = [r.randrange(w.n_slices) for _ in range(max(1, round(w.days / 1.5)))]
            starts.append(w.slice_of(w.release) + r.randint(1, 40))
            prof = w.profile(("bench", acct.id), lambda: schedule.bursts(w.n_slices, starts, r.randint(8, 24)))
            out.append(Bench(w, [acct], rate * hetero(r, 0.5), prof, {}, unit=1.75, throttle=0.04,
                             shared={"suite": r.randrange(1000)}))
    return out


def university_class(w: World, n: int, rate: float) -> list[Actor]:
    """A class on one campus NAT: same sign-up day, same notebook client, near-identical homework."""
    r, out = w.r, []
    for size in _split(r, n, 15, 60):
        campus = w.net.campus()
        cc = w.net.campus_country(campus)
        tz = _tz(cc)
        nat, created, dom = w.net.pool(campus, r.randint(2, 3)), w.before(10, 70), w.edu()
        org = w.org() if r.random() < 0.6 else None
        dept_card = w.card() if r.random() < 0.5 else None
        notebook = w.client({"openai_py": 1}, {"plain": 1})
        due, topic = r.randrange(w.n_slices // 3, w.n_slices), r.randrange(100)
        prof = w.profile(("class", campus, due), lambda: schedule.diurnal(w.n_slices, w.spd, w.weekday0, tz, "evening")
                         * schedule.deadline(w.n_slices, w.spd, due, 2, 4))
        for _ in range(size):
            client = notebook if r.random() < 0.7 else w.client(PERSON_UA, {"plain": 3, "stream": 1})
            ip = home_or(w, w.net.ip("residential", cc), from_pool(w, nat), 0.6)
            acct = w.account("university_class", kind="education", created=created + r.randrange(6 * HOUR_MS),
                             country=cc, mail=dom, card=dept_card or w.card(), signup_ip=nat[0], verified=0.2, org=org,
                             client=client, ip=ip, pref=r.uniform(0.2, 0.6))
            acct.state["topic"] = topic
            out.append(Actor(w, [acct], rate * hetero(r), prof, {"homework": 8, "chat": 2, "code": 1}, unit=2.5,
                             timing="session", gap=150))
    return out


def coding_agent(w: World, n: int, rate: float) -> list[Actor]:
    """Developers running coding agents: long tool loops, growing context, work hours."""
    r, out = w.r, []
    agent_ua = {"agent": 4, "openai_py": 1, "anthropic": 1, "openai_js": 1}
    kinds = {"agent": 8, "code": 1, "chat": 0.7, "tools": 0.5}
    for _ in range(n):
        cc, tz = w.country()
        kind = kind_of(r, {"individual": 2, "startup": 1, "enterprise": 0.5})
        home, work = w.net.ip("residential", cc), w.net.pool(r.choice(("business", "cloud")), 2)
        acct = w.account("coding_agent", kind=kind, created=w.before(5, 800), country=cc, card=w.card(),
                         mail=w.mail() if kind == "individual" else w.domain(), signup_ip=home, verified=0.5,
                         org=w.org_for(kind), client=w.client(agent_ua, {"agent": 1}),
                         ip=home_or(w, home, from_pool(w, work), 0.3), keys=r.randint(1, 2), pref=r.uniform(0.6, 0.95))
        acct.state["agent_system"] = r.choice(ph.AGENT_SYSTEM[w.cfg.wording])
        prof = diurnal(w, tz, r.choice(("office", "day")))
        out.append(Actor(w, [acct], rate * hetero(r), prof, kinds, unit=6, timing="session", gap=14,
                         rounds=r.randint(10, 20)))
    return out


def legit_reseller(w: World, n: int, rate: float) -> list[Actor]:
    """Many downstream customers (one key each) through the reseller's own servers."""
    r, out = w.r, []
    customers = (0.0, HARVEST, {}, ORDINARY, {"plain": 2, "stream": 2, "reasoning": 1})
    for size in _split(r, n, 1, 4):
        cc = r.choice(("US", "SG", "DE", "GB"))
        org, card, dom = w.org(), w.card(), w.domain()
        servers = w.net.pool(f"cloud:{r.choice(CLOUDS)}", r.randint(4, 8))
        client = w.client({"http": 2, "openai_py": 2, "openai_js": 1}, {"plain": 1})
        accts = [w.account("legit_reseller", kind="reseller", created=w.before(200, 900), country=cc, mail=dom,
                           card=card, signup_ip=servers[0], verified=0.95, org=org, client=client,
                           ip=from_pool(w, servers), keys=r.randint(15, 60), pref=r.uniform(0.5, 0.9))
                 for _ in range(size)]
        out.append(Proxy(w, accts, rate * size, _global(w), {}, pick="weighted", throttle=0.01, harvest=customers))
    return out


def _global(w: World) -> int:
    """Customers spread over the Americas, Europe and Asia."""
    def make():
        return sum(schedule.diurnal(w.n_slices, w.spd, w.weekday0, tz, "day") for tz in (-5, 1, 8)) / 3
    return w.profile(("global",), make)


# campaigns -----------------------------------------------------------------------------
def _recruit(w: World, archetype: str, cid: str, types: dict[str, float], **kw) -> Account:
    """A campaign account: a claimed type, billing country and mail domain in the forms benign accounts take."""
    r = w.r
    kind = kind_of(r, types)
    if "mail" not in kw:
        kw["mail"] = w.edu() if kind == "education" else (
            w.domain() if kind in ("startup", "research") and r.random() < 0.7 else w.mail())
    kw.setdefault("country", r.choice(HARVEST_COUNTRIES))
    return w.account(archetype, kind=kind, campaign=cid, org=w.org_for(kind), **kw)


def reasoning_harvest(w: World, n: int, rate: float, cid: str) -> list[Actor]:
    """Synchronised, load-balanced accounts on hosting IPs; card shared within subsets."""
    r, c = w.r, w.cfg.camouflage
    hosting = w.net.pool(f"cloud:{r.choice(CLOUDS)}", r.randint(4, 10))
    resi = fresh(w, "residential", HARVEST_COUNTRIES)

    def ip() -> str:
        return resi() if r.random() < c else hosting[r.randrange(len(hosting))]
    tool = w.client({"openai_py": 2, "http": 2, "anthropic": 1}, {"reasoning": 1})  # one harvesting script
    styles = {"reasoning": 6, "sampling": 2, "plain": 1 + 4 * c}
    group, burst, accts, card = max(1, round(6 - 5 * c)), w.before(15, 45), [], ""
    for i in range(n):
        card = w.card() if i % group == 0 else card
        client = tool if r.random() > c else w.client(PERSON_UA, {"reasoning": 1})
        created = burst + r.randrange(3 * DAY_MS) if r.random() > c else w.before(15, 15 + 365 * c)
        accts.append(_recruit(w, "reasoning_harvest", cid, {"individual": 6, "startup": 3, "research": 1},
                              created=created, card=card, signup_ip=ip(), verified=0.25, ip=ip, pref=0.95,
                              client=restyle(r, client, kind_of(r, styles))))
    kinds = {"cot": 4, "judge": 3, "censor": 2, "meta": 0.3, "chat": 0.5 + 3 * c}
    prof = campaign_profile(w, -5, 0.8 * c)
    return [Actor(w, accts, rate * n, prof, kinds, pick="rr", timing="cadence", throttle=0.015)]


def agentic_harvest(w: World, n: int, rate: float, cid: str) -> list[Actor]:
    """Hundreds of varied accounts, each session from a fresh residential-proxy exit."""
    r, c, accts, card = w.r, w.cfg.camouflage, [], ""
    fam = {"openai_py": 2, "openai_js": 1, "agent": 1, "langchain": 1, "http": 1, "anthropic": 1}
    types = {"individual": 4, "startup": 2.5, "education": 2, "research": 1.5}
    for _ in range(n):
        card = w.card() if r.random() < 0.9 or not card else card
        ip = fresh(w, "residential" if r.random() < 0.75 else "mobile", HARVEST_COUNTRIES)
        accts.append(_recruit(w, "agentic_harvest", cid, types, created=w.before(3, 60 + 240 * c), card=card,
                              signup_ip=ip(), verified=0.3, ip=ip, pref=0.9,
                              client=w.client(fam, {"agent": 3, "plain": 2, "reasoning": 1})))
    kinds = {"tools": 3, "agent": 2.5, "analysis": 1.5, "computer": 1.5, "vision": 1.5, "cot": 0.5, "chat": 0.3 + 2 * c}
    prof = campaign_profile(w, r.choice((8, -5)), 0.4 + 0.4 * c)
    return [Actor(w, accts, rate * n, prof, kinds, unit=4, timing="session", gap=12, pick="weighted",
                  windows=relay(w, n, 0.5), rounds=6)]


def coding_pivot(w: World, n: int, rate: float, cid: str) -> list[Actor]:
    """The biggest harvest: agentic coding at high concurrency, moving to the new model within a day."""
    r, c, accts, card = w.r, w.cfg.camouflage, [], ""
    hosting, resi = w.net.pool("cloud", r.randint(6, 14)), fresh(w, "residential", HARVEST_COUNTRIES)

    def ip() -> str:
        return resi() if r.random() < 0.25 + 0.5 * c else hosting[r.randrange(len(hosting))]
    fam = {"agent": 3, "openai_py": 1, "http": 1, "anthropic": 1}
    for i in range(n):
        card = w.card() if i % 3 == 0 else card  # cards shared in threes
        accts.append(_recruit(w, "coding_pivot", cid, {"startup": 5, "individual": 3, "research": 2},
                              created=w.before(10, 90), card=card, signup_ip=ip(), verified=0.35, ip=ip, pref=0.97,
                              keys=r.randint(1, 3), client=w.client(fam, {"agent": 1})))
    kinds = {"agent": 6, "tools": 2, "code": 1.5, "chat": 0.5 + 2 * c}
    return [Actor(w, accts, rate * n, campaign_profile(w, 8, 0.3), kinds, unit=5, timing="session", gap=6,
                  pick="weighted", curve="pivot", throttle=0.02, rounds=8)]


def hydra_proxy(w: World, n: int, rate: float, cid: str) -> list[Actor]:
    """A proxy network: harvesting mixed into real customers' traffic, accounts failing over."""
    r, c, accts = w.r, w.cfg.camouflage, []
    egress = w.net.pool("datacenter", r.randint(3, 8)) + w.net.pool("vpn", round(4 * c))
    proxies = [w.client({"http": 2, "openai_py": 2}, {"plain": 1}) for _ in range(2)]
    windows = relay(w, n, 0.4)
    for i in range(n):
        created = w.t0 + windows[i][0] * w.slice_ms - int(r.uniform(0.1, 3) * DAY_MS)  # made just before use
        accts.append(_recruit(w, "hydra_proxy", cid, {"individual": 7, "startup": 3}, mail=w.mail(), created=created,
                              card=w.card(), signup_ip=r.choice(egress), verified=0.15, ip=from_pool(w, egress),
                              client=r.choice(proxies), pref=0.85, keys=r.randint(1, 2)))
    mix = (w.cfg.hydra_harvest_share, HARVEST, {"reasoning": 3, "sampling": 1, "plain": 1}, ORDINARY,
           {"plain": 3, "stream": 3})
    prof = w.profile(("hydra",), lambda: schedule.blend(w.profiles[_global(w)], w.profiles[campaign_profile(w, 0, 0)],
                                                         0.5))
    return [Proxy(w, accts, rate * n, prof, {}, pick="weighted", windows=windows, harvest=mix, throttle=0.01)]


def low_and_slow(w: World, n: int, rate: float, cid: str) -> list[Actor]:
    """A few quiet accounts that look like people; only the content is systematic."""
    r, c, out, shared = w.r, w.cfg.camouflage, [], {}
    fam = {"openai_py": 2, "http": 1, "openai_js": 1, "browser": 0.5, "anthropic": 1}
    kinds = {"probe": 4, "cot": 2, "judge": 0.5, "chat": 1 + 2 * c}
    for _ in range(n):
        cc = r.choice(HARVEST_COUNTRIES)
        home = w.net.ip("residential", cc)
        acct = _recruit(w, "low_and_slow", cid, {"individual": 3, "startup": 1, "research": 1}, country=cc,
                        created=w.before(30, 400), card=w.card(), signup_ip=home, verified=0.4, ip=lambda h=home: h,
                        client=w.client(fam, {"plain": 3, "reasoning": 2, "stream": 1}), pref=0.9)
        out.append(Actor(w, [acct], rate * hetero(r, 0.3), diurnal(w, _tz(cc), "day"), kinds, unit=2,
                         timing="session", gap=150, shared=shared))
    return out


FACTORIES = {f.__name__: f for f in (
    chat_user, shared_ip_user, cloud_app, enterprise, benchmark_runner, university_class, coding_agent, jailbreaker,
    legit_reseller, reasoning_harvest, agentic_harvest, coding_pivot, hydra_proxy, low_and_slow)}
# Fewest accounts for a group to be itself (per campaign for distill archetypes); otherwise 1, or 2 per campaign.
MIN_ACCOUNTS = {"university_class": 8, "enterprise": 3, "low_and_slow": 3}
