"""Gateway benchmark: what enforcement costs a request, measured side by side in one run on loopback.

Throughput and latency of one chat completion with a fixed request count and concurrency against
  upstream             the local OpenAI-compatible upstream alone
  proxy                distillguard's reverse proxy in front of it (shipped policy, a scan loaded)
  litellm              a LiteLLM proxy in front of it, no guardrail
  litellm+guardrail    the same LiteLLM with distillguard's guardrail (deploy/litellm/config.yaml)
each in its own process, in rounds (best round kept), twice: with a model latency of 100 ms at the
upstream (as in production, where the model and not the gateway bounds throughput) and with none
(every process competes for the same cores: the gateway's CPU cost laid bare); then the engine's
decision latency
in-process and with Redis state. Targets: proxy throughput >= 80% of the upstream's; decision
p50 <= 0.2 ms and p99 <= 1 ms in-process, p99 <= 3 ms with Redis.

    python bench/gateway.py [--requests 500] [--concurrency 32] [--rounds 1] [--latency-ms 100 0]

--replay instead simulates a world, scans its first day, and replays (a sample of) the rest through
the proxy and through LiteLLM with the guardrail, with that scan's verdicts loaded; it counts what
happened to campaign and benign accounts (ground truth from the simulator) and to the accounts the
scan put in a campaign, cleared, or never saw:

    python bench/gateway.py --replay [--accounts 400] [--per-account 5]

LiteLLM runs from .venv-litellm (`make litellm`); without it those targets are skipped."""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import yaml

from distillguard.enforce import Engine, RequestContext, load_policy
from distillguard.enforce.litellm.launch import CONFIG, LITELLM_BIN, litellm_proxy
from distillguard.enforce.testing import free_port

OUT = Path(__file__).parent / "out" / "gateway"
BIN = Path(sys.executable).parent
PROMPTS = ("Solve {a}x + {b} = {c} and show every step.",
           "Translate into French: the meeting moved to {a} o'clock on day {b}.",
           "Write a Python function that returns the {a}th Fibonacci number modulo {c}.",
           "Summarise in {a} bullet points why the sky looks blue at noon.",
           "You are a careful grader. Score this answer from 1 to {a}: '{b} plus {c}'.")


# -- processes --------------------------------------------------------------------------------------
def _wait(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up; log {log}:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)


@contextmanager
def _process(cmd: list[str], ready_url: str, log: Path):
    """A server child process on loopback; stopped by its PID."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(ready_url, proc, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def serve_upstream(port: int) -> None:
    """The test upstream with a settable model latency (POST /bench/delay?ms=N), so one process
    serves both the zero-latency and the model-latency runs behind every gateway."""
    from urllib.parse import parse_qs

    import uvicorn

    from distillguard.enforce.cli import UVICORN
    from distillguard.enforce.testing.upstream import create_app

    inner, delay = create_app(), [0.0]

    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/bench/delay":
            delay[0] = float(parse_qs(scope["query_string"].decode())["ms"][0]) / 1000
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["type"] == "http" and scope["method"] == "POST" and delay[0]:
            await asyncio.sleep(delay[0])
        await inner(scope, receive, send)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", **UVICORN)  # as the proxy runs


def upstream(stack: ExitStack) -> tuple[str, int]:
    """The servers below return their base URL and PID."""
    port = free_port()
    proc = stack.enter_context(_process([sys.executable, __file__, "--serve-upstream", str(port)],
                                        f"http://127.0.0.1:{port}/v1/models", OUT / "upstream.log"))
    return f"http://127.0.0.1:{port}", proc.pid


def set_delay(up: str, ms: float) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{up}/bench/delay?ms={ms}", method="POST"), timeout=5).close()


def proxy(stack: ExitStack, up: str, scan: Path, name: str = "proxy") -> tuple[str, int]:
    """The reverse proxy with the shipped policy and `scan`'s verdicts."""
    port = free_port()
    proc = stack.enter_context(_process([str(BIN / "distillguard"), "enforce", "serve-proxy", "--upstream", up,
                                  "--scan", str(scan), "--port", str(port),
                                  "--trust-forwarded-for"],
                                 f"http://127.0.0.1:{port}/healthz", OUT / f"{name}.log"))
    return f"http://127.0.0.1:{port}", proc.pid


def litellm(stack: ExitStack, up: str, master_key: str, *, guardrail: bool,
            scan: Path | None = None) -> tuple[str, int]:
    """LiteLLM from deploy/litellm/config.yaml (the shipped policy, `scan`'s verdicts), or without its guardrail."""
    config = CONFIG
    if not guardrail:  # the shipped config without its guardrail: LiteLLM's own cost
        cfg = yaml.safe_load(CONFIG.read_text())
        cfg.pop("guardrails")
        config = OUT / "litellm-plain.yaml"
        config.write_text(yaml.safe_dump(cfg))
    env = {"DISTILLGUARD_UPSTREAM": up + "/v1", "DISTILLGUARD_UPSTREAM_KEY": "bench", "LITELLM_MASTER_KEY": master_key}
    if scan:
        env["DISTILLGUARD_SCAN"] = str(scan)
    name = "litellm-guardrail" if guardrail else "litellm-plain"
    gw = stack.enter_context(litellm_proxy(free_port(), env, config=config, log=OUT / f"{name}.log"))
    return gw.url, gw.proc.pid


@contextmanager
def redis_server():
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--daemonize", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.kill()
        proc.wait(5)


# -- a scan to enforce ------------------------------------------------------------------------------
def synthetic_scan(path: Path, accounts: int = 20_000, campaigns: int = 40, size: int = 10) -> dict:
    """A verdict table the size of a mid-size provider's: 2% of accounts in 40 campaigns, each with
    hosting IPs that catch the campaign's fresh accounts."""
    path.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    members = {f"acct-c{c}-{i}": f"camp-{c}" for c in range(campaigns) for i in range(size)}
    with open(path / "accounts.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["account_id", "score", "flagged", "campaign_id", "reasons"])
        for a, cid in members.items():
            w.writerow([a, round(rng.uniform(0.7, 1.0), 4), "true", cid, "CAMPAIGN_MEMBER;HARVEST_CONTENT"])
        for i in range(accounts - len(members)):
            flagged = rng.random() < 0.003
            w.writerow([f"acct-b{i}", round(rng.uniform(0.6, 0.9) if flagged else rng.uniform(0, 0.3), 4),
                        str(flagged).lower(), "", "HARVEST_CONTENT" if flagged else ""])
    # odd campaigns confirmed (members must step up), even ones suspected (a campaign-wide budget)
    camps = [{"campaign_id": f"camp-{c}", "score": 0.95 if c % 2 else 0.6,
              "accounts": [a for a, cid in members.items() if cid == f"camp-{c}"],
              "indicators": [{"type": "ip", "value": f"203.0.{c}.{k}", "network_kind": "hosting"} for k in range(3)]}
             for c in range(campaigns)]
    (path / "campaigns.json").write_text(json.dumps(camps))
    return {"accounts": accounts, "campaign_accounts": len(members), "campaigns": campaigns}


def _prompt(rng: random.Random) -> str:
    return rng.choice(PROMPTS).format(a=rng.randint(2, 99), b=rng.randint(2, 99), c=rng.randint(2, 99))


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants so far (Linux /proc): what a request costs a
    server, which, unlike throughput, other load on a shared machine barely changes."""
    children: dict[int, list[int]] = defaultdict(list)
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = fields
            children[int(fields[1])].append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            total += int(stats[p][11]) + int(stats[p][12])  # utime, stime
        todo.extend(children.get(p, ()))
    return total / os.sysconf("SC_CLK_TCK")


# -- load -------------------------------------------------------------------------------------------
def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


async def load(url: str, n: int, concurrency: int, master_key: str, pid: int, warmup: int = 100) -> dict:
    """`n` chat completions from `concurrency` workers over keep-alive connections; benign accounts,
    each with its own client IP and a varied prompt."""
    rng = random.Random(1)
    requests = []
    for i in range(n + warmup):
        account = i % 500
        body = {"model": "frontier-large", "max_tokens": 64, "messages": [{"role": "user", "content": _prompt(rng)}]}
        requests.append((json.dumps(body).encode(),
                         {"authorization": f"Bearer {master_key}", "content-type": "application/json",
                          "x-distillguard-account": f"acct-b{account}",
                          "x-forwarded-for": f"198.18.{account // 250}.{account % 250 + 1}"}))
    latencies: list[float] = []
    statuses: Counter = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        async def run(batch, record: bool):
            it = iter(batch)

            async def worker():
                for content, headers in it:
                    t0 = time.perf_counter()
                    r = await client.post(url, content=content, headers=headers)
                    if record:
                        latencies.append(time.perf_counter() - t0)
                        statuses[r.status_code] += 1
            await asyncio.gather(*(worker() for _ in range(concurrency)))

        await run(requests[:warmup], False)
        cpu0, own0, t0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
        await run(requests[warmup:], True)
        wall, cpu, own = time.perf_counter() - t0, cpu_seconds(pid) - cpu0, time.process_time() - own0
    # The load generator's own CPU per request: an httpx client, as inside the proxy, for scale.
    return {"requests": n, "seconds": wall, "rps": n / wall, "cpu_ms": 1e3 * cpu / n, "client_cpu_ms": 1e3 * own / n,
            "p50_ms": 1e3 * _pct(latencies, 0.5),
            "p99_ms": 1e3 * _pct(latencies, 0.99), "non_200": n - statuses[200]}


# -- decisions --------------------------------------------------------------------------------------
def contexts(n: int, seed: int = 3) -> list[RequestContext]:
    """A request mix: 85% benign accounts, 10% campaign members, 5% fresh accounts on campaign IPs."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        u = rng.random()
        if u < 0.85:
            account, ip = f"acct-b{rng.randrange(19_600)}", f"198.18.{rng.randrange(200)}.{rng.randrange(1, 250)}"
        elif u < 0.95:
            c = rng.randrange(40)
            account, ip = f"acct-c{c}-{rng.randrange(10)}", f"203.0.{c}.{rng.randrange(3)}"
        else:
            c = rng.randrange(40)
            account, ip = f"acct-new-{i}", f"203.0.{c}.{rng.randrange(3)}"
        body = {"model": "frontier-large", "max_tokens": 1024, "messages": [{"role": "user", "content": _prompt(rng)}]}
        out.append(RequestContext(account_id=account, client_ip=ip, model=body["model"], body=body,
                                  user_agent="OpenAI/Python 1.55.0"))
    return out


def decision_latency(engine: Engine, ctxs: list[RequestContext], asynchronous: bool = False) -> dict:
    for c in ctxs[:1000]:  # warm caches and connections
        engine.decide(c)
    times = []
    actions: Counter = Counter()
    if asynchronous:
        async def go():
            for c in ctxs:
                t0 = time.perf_counter_ns()
                d = await engine.adecide(c)
                times.append(time.perf_counter_ns() - t0)
                actions[d.action.value] += 1
        asyncio.run(go())
    else:
        for c in ctxs:
            t0 = time.perf_counter_ns()
            d = engine.decide(c)
            times.append(time.perf_counter_ns() - t0)
            actions[d.action.value] += 1
    return {"n": len(ctxs), "p50_ms": _pct(times, 0.5) / 1e6, "p99_ms": _pct(times, 0.99) / 1e6,
            "p999_ms": _pct(times, 0.999) / 1e6, "actions": dict(actions)}


def ping_latency(url: str, n: int) -> dict:
    """A bare round trip to the same Redis: the floor under any decision that waits for it, which on a
    loaded machine is mostly the time until the server and then the client are scheduled again."""
    import redis

    client = redis.Redis.from_url(url)
    times = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        client.ping()
        times.append(time.perf_counter_ns() - t0)
    client.close()
    return {"n": n, "p50_ms": _pct(times, 0.5) / 1e6, "p99_ms": _pct(times, 0.99) / 1e6,
            "p999_ms": _pct(times, 0.999) / 1e6}


def hook_latency(n: int, scan: Path) -> dict:
    """The guardrail's own hooks, called directly inside LiteLLM's venv (run there by `--hooks`):
    pre-call on a request dict shaped like LiteLLM's, post-call on a LiteLLM ModelResponse."""
    import os as _os
    from types import SimpleNamespace

    from fastapi import HTTPException
    from litellm import ModelResponse

    _os.environ["DISTILLGUARD_SCAN"] = str(scan)
    from distillguard.enforce.litellm.guardrail import DistillGuard

    guard = DistillGuard(guardrail_name="bench", event_hook=["pre_call", "post_call"], default_on=True)
    master = SimpleNamespace(user_id="default_user_id", token="litellm_proxy_master_key", team_id=None, org_id=None)
    answer = {"id": "c", "object": "chat.completion", "created": 1, "model": "frontier-large",
              "choices": [{"index": 0, "finish_reason": "stop",
                           "message": {"role": "assistant", "content": "x = 5", "reasoning_content": "Because."}}]}

    def data(ctx: RequestContext) -> dict:
        headers = {"x-distillguard-account": ctx.account_id, "user-agent": ctx.user_agent}
        return {**ctx.body, "metadata": {"requester_ip_address": ctx.client_ip},
                "proxy_server_request": {"headers": headers, "body": dict(ctx.body)}}

    async def go() -> dict:
        pre, post, outcomes = [], [], Counter()
        for ctx in contexts(n, seed=8):
            d = data(ctx)
            t0 = time.perf_counter_ns()
            try:
                await guard.async_pre_call_hook(master, None, d, "acompletion")
            except HTTPException as e:
                pre.append(time.perf_counter_ns() - t0)
                outcomes[e.status_code] += 1
                continue
            pre.append(time.perf_counter_ns() - t0)
            response = ModelResponse(**answer)
            t0 = time.perf_counter_ns()
            await guard.async_post_call_success_hook(d, master, response)
            post.append(time.perf_counter_ns() - t0)
            outcomes[200] += 1
        return {"pre_p50_ms": _pct(pre, 0.5) / 1e6, "pre_p99_ms": _pct(pre, 0.99) / 1e6,
                "post_p50_ms": _pct(post, 0.5) / 1e6, "post_p99_ms": _pct(post, 0.99) / 1e6,
                "outcomes": {str(k): v for k, v in outcomes.items()}}
    return asyncio.run(go())


def context_build_latency(n: int) -> dict:
    """What an adapter pays before deciding: RequestContext.from_openai (template key included)."""
    rng = random.Random(5)
    raw = [({"model": "frontier-large", "max_tokens": 1024, "messages": [{"role": "user", "content": _prompt(rng)}]},
            {"x-distillguard-account": f"acct-b{i}", "user-agent": "OpenAI/Python 1.55.0"}) for i in range(n)]
    times = []
    for body, headers in raw:
        t0 = time.perf_counter_ns()
        RequestContext.from_openai(body, headers, "198.18.0.1")
        times.append(time.perf_counter_ns() - t0)
    return {"p50_ms": _pct(times, 0.5) / 1e6, "p99_ms": _pct(times, 0.99) / 1e6}


# -- the benchmark ----------------------------------------------------------------------------------
def bench(args) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    scan = OUT / "synthetic-scan"
    scan_info = synthetic_scan(scan)
    master_key = "sk-" + secrets.token_hex(24)
    # The machine may be shared: the load average says how much else was running.
    result: dict = {"scan": scan_info, "requests": args.requests, "concurrency": args.concurrency, "runs": {},
                    "loadavg_start": os.getloadavg()[0]}
    has_litellm = LITELLM_BIN.exists()
    with ExitStack() as stack:
        up = upstream(stack)
        targets = {"upstream": up, "proxy": proxy(stack, up[0], scan)}
        if has_litellm:
            targets["litellm"] = litellm(stack, up[0], master_key, guardrail=False)
            targets["litellm+guardrail"] = litellm(stack, up[0], master_key, guardrail=True, scan=scan)
        else:
            print(f"LiteLLM targets skipped: {LITELLM_BIN} missing (make litellm)")
        for latency in args.latency_ms:
            set_delay(up[0], latency)
            for rnd in range(args.rounds):
                for name, (base, pid) in targets.items():
                    r = asyncio.run(load(base + "/v1/chat/completions", args.requests, args.concurrency, master_key,
                                         pid))
                    result["runs"].setdefault(f"{latency:g}", {}).setdefault(name, []).append(r)
                    print(f"model latency {latency:g} ms, round {rnd + 1}: {name:18} {r['rps']:7.0f} req/s  "
                          f"p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  CPU {r['cpu_ms']:5.2f} ms/request  "
                          f"non-200 {r['non_200']}", flush=True)
    result["best"] = {lat: {name: max(runs, key=lambda r: r["rps"]) for name, runs in by_target.items()}
                      for lat, by_target in result["runs"].items()}

    ctxs = contexts(args.decisions)
    engine = Engine.from_config(None, scan=scan)
    result["decision_memory"] = decision_latency(engine, ctxs)
    result["context_build"] = context_build_latency(min(args.decisions, 10_000))
    if has_litellm:  # the guardrail's hooks alone, in LiteLLM's venv
        out = subprocess.run([str(LITELLM_BIN.parent / "python"), __file__, "--hooks", str(args.decisions // 2),
                              "--hook-scan", str(scan)], capture_output=True, text=True, check=True,
                             env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
        result["guardrail_hooks"] = json.loads(out.stdout.strip().splitlines()[-1])
    with redis_server() as url:
        if url is None:
            print("Redis figures skipped: redis-server not installed (apt-get install -y redis-server)")
        else:
            policy = load_policy(None)
            policy = policy.model_copy(update={"state": policy.state.model_copy(
                update={"backend": "redis", "redis_url": url})})
            engine = Engine.from_config(policy, scan=scan)
            result["decision_redis"] = decision_latency(engine, contexts(args.decisions // 4, seed=4))
            result["decision_redis_async"] = decision_latency(engine, contexts(args.decisions // 4, seed=6),
                                                              asynchronous=True)
            engine.close()
            result["redis_ping"] = ping_latency(url, args.decisions // 4)
    result["loadavg_end"] = os.getloadavg()[0]
    return result


def report(result: dict) -> None:
    print(f"\n{result['requests']} requests per run, concurrency {result['concurrency']}, best round; "
          f"1-minute load average {result['loadavg_start']:.1f} at the start, {result['loadavg_end']:.1f} at the end "
          f"({os.cpu_count()} cores):")
    for latency, best in result["best"].items():
        base = best["upstream"]["rps"]
        print(f"upstream model latency {latency} ms (CPU: of the hop named, per request):")
        for name, r in best.items():
            print(f"  {name:18} {r['rps']:7.0f} req/s ({r['rps'] / base:6.1%} of upstream)  "
                  f"p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  CPU {r['cpu_ms']:5.2f} ms")
        ratio = best["proxy"]["rps"] / base
        print(f"  proxy / upstream throughput {ratio:.2f} (target >= 0.80: {'met' if ratio >= 0.8 else 'NOT met'}); "
              f"one core runs the proxy at up to {1000 / best['proxy']['cpu_ms']:.0f} req/s; the load generator "
              f"(an httpx client) used {best['upstream']['client_cpu_ms']:.2f} ms CPU per request")
        if "litellm+guardrail" in best:
            g, p = best["litellm+guardrail"], best["litellm"]
            print(f"  litellm+guardrail / litellm throughput {g['rps'] / p['rps']:.2f}; the guardrail adds "
                  f"{g['cpu_ms'] - p['cpu_ms']:+.2f} ms CPU and {g['p50_ms'] - p['p50_ms']:+.1f} ms p50 per request")
    m = result["decision_memory"]
    print(f"decision in-process: p50 {m['p50_ms']:.3f} ms (target <= 0.2), p99 {m['p99_ms']:.3f} ms (target <= 1), "
          f"p99.9 {m['p999_ms']:.3f} ms over {m['n']} decisions {m['actions']}")
    c = result["context_build"]
    print(f"context build (from_openai): p50 {c['p50_ms']:.3f} ms, p99 {c['p99_ms']:.3f} ms")
    if "guardrail_hooks" in result:
        h = result["guardrail_hooks"]
        print(f"LiteLLM guardrail hooks, called directly: pre-call p50 {h['pre_p50_ms']:.3f} ms, p99 {h['pre_p99_ms']:.3f} ms; "
              f"post-call p50 {h['post_p50_ms']:.3f} ms, p99 {h['post_p99_ms']:.3f} ms; outcomes {h['outcomes']}")
    for key, label in (("decision_redis", "Redis"), ("decision_redis_async", "Redis, async")):
        if key in result:
            r = result[key]
            print(f"decision with {label}: p50 {r['p50_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms (target <= 3), "
                  f"p99.9 {r['p999_ms']:.3f} ms over {r['n']}")
    if "redis_ping" in result:
        r = result["redis_ping"]
        print(f"bare Redis round trip (PING), same server: p50 {r['p50_ms']:.3f} ms, p99 {r['p99_ms']:.3f} ms, "
              f"p99.9 {r['p999_ms']:.3f} ms over {r['n']}")


# -- replay -----------------------------------------------------------------------------------------
def _text(content) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content if isinstance(content, list) else ():
        if isinstance(block, dict):
            value = block.get("text") if isinstance(block.get("text"), str) else block.get("content")
            if isinstance(value, str):
                parts.append(value)
    return "\n".join(parts)


def chat_body(request: dict) -> dict:
    """A logged request as an OpenAI chat completion: text turns, the caps and sampling settings.
    Tools, Anthropic thinking blocks and streaming are left out: the replay is about decisions."""
    messages = []
    if request.get("system"):
        messages.append({"role": "system", "content": _text(request["system"])})
    for m in request.get("messages") or ():
        if isinstance(m, dict):
            role = m.get("role") if m.get("role") in ("system", "user", "assistant") else "user"
            messages.append({"role": role, "content": _text(m.get("content")) or "..."})
    body = {"model": request.get("model") or "frontier-large", "messages": messages or [{"role": "user", "content": "hi"}]}
    for k in ("max_tokens", "max_completion_tokens", "n", "temperature", "top_p", "logprobs", "top_logprobs",
              "reasoning_effort", "seed"):
        if request.get(k) is not None:
            body[k] = request[k]
    if isinstance(request.get("thinking"), dict) and "reasoning_effort" not in body:
        body["reasoning_effort"] = "high"
    if body.get("logprobs") is not True:
        body.pop("top_logprobs", None)
    return body


def replay_world(args) -> tuple[Path, Path, str]:
    """A simulated world whose first `scan_days` are scanned; what comes after is replayed, so the
    verdicts meet traffic (and accounts) they were not computed from. Kept in bench/out for reruns."""
    root = OUT / f"replay-{args.accounts}a-{args.days}d-seed{args.seed}"
    world, scan = root / "world", root / f"scan-first-{args.scan_days}d"
    dg = str(BIN / "distillguard")
    if not (world / "truth_accounts.csv").exists():
        print(f"simulating {args.accounts} accounts over {args.days} days (kept in {root})", flush=True)
        subprocess.run([dg, "simulate", "--out", str(world), "--accounts", str(args.accounts), "--days",
                        str(args.days), "--seed", str(args.seed)], check=True, stdout=subprocess.DEVNULL)
    with gzip.open(world / "exchanges.jsonl.gz", "rt") as f:
        first_day = min(json.loads(line)["timestamp"][:10] for line in f)
    cutoff = (datetime.fromisoformat(first_day) + timedelta(days=args.scan_days)).strftime("%Y-%m-%dT%H:%M:%S")
    if not (scan / "campaigns.json").exists():
        print(f"scanning the traffic before {cutoff}", flush=True)
        first = root / f"first-{args.scan_days}d.jsonl.gz"
        with gzip.open(world / "exchanges.jsonl.gz", "rt") as src, gzip.open(first, "wt") as dst:
            for line in src:
                if json.loads(line)["timestamp"] < cutoff:
                    dst.write(line)
        subprocess.run([dg, "scan", str(first), "--accounts", str(world / "accounts.jsonl"), "--out", str(scan)],
                       check=True, stdout=subprocess.DEVNULL)
    return world, scan, cutoff


def replay_sample(world: Path, per_account: int, since: str) -> list[dict]:
    """Up to `per_account` exchanges of every account from `since` on, spread over its history, in time order."""
    by_account: dict[str, list[dict]] = defaultdict(list)
    with gzip.open(world / "exchanges.jsonl.gz", "rt") as f:
        for line in f:
            r = json.loads(line)
            if r["timestamp"] >= since:
                by_account[r["account_id"]].append(r)
    sample = []
    for records in by_account.values():
        records.sort(key=lambda r: r["timestamp"])
        step = max(1, len(records) // per_account)
        sample.extend(records[::step][:per_account])
    sample.sort(key=lambda r: r["timestamp"])
    return sample


async def replay_through(url: str, sample: list[dict], master_key: str, concurrency: int) -> dict[str, Counter]:
    """Per account: how many requests were allowed untouched, safeguarded, throttled or blocked.
    The upstream always returns reasoning, so a 200 without it was safeguarded."""
    outcome: dict[str, Counter] = defaultdict(Counter)
    it = iter(sample)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        async def worker():
            for rec in it:
                headers = {"authorization": f"Bearer {master_key}", "x-distillguard-account": rec["account_id"],
                           "x-forwarded-for": rec["client_ip"], "user-agent": rec.get("user_agent") or "replay"}
                r = await client.post(url + "/v1/chat/completions", json=chat_body(rec["request"]), headers=headers)
                if r.status_code == 200:
                    message = r.json()["choices"][0]["message"]
                    kind = "untouched" if message.get("reasoning_content") else "safeguarded"
                elif r.status_code == 403:  # LiteLLM nests our error body in provider_specific_fields
                    error = r.json().get("error") or {}
                    kind = ((error.get("provider_specific_fields") or {}).get("error") or error).get("type")
                    kind = "stepped_up" if kind == "verification_required" else "suspended"
                else:
                    kind = "throttled" if r.status_code == 429 else f"http_{r.status_code}"
                outcome[rec["account_id"]][kind] += 1
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcome


def replay(args) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    world, scan, cutoff = replay_world(args)
    with open(world / "truth_accounts.csv") as f:
        truth = {row["account_id"]: row for row in csv.DictReader(f)}
    with open(scan / "accounts.csv") as f:
        scanned = {row["account_id"] for row in csv.DictReader(f)}
    in_campaign = {a for c in json.loads((scan / "campaigns.json").read_text()) for a in c["accounts"]}
    sample = replay_sample(world, args.per_account, cutoff)
    print(f"replaying {len(sample)} requests from {cutoff} on, {args.per_account} per account at most, "
          f"with the verdicts of the scan before it", flush=True)
    master_key = "sk-" + secrets.token_hex(24)
    results = {}
    with ExitStack() as stack:
        up, _ = upstream(stack)
        targets = {"proxy": lambda: proxy(stack, up, scan, name="replay-proxy")}
        if LITELLM_BIN.exists():
            targets["litellm+guardrail"] = lambda: litellm(stack, up, master_key, guardrail=True, scan=scan)
        for name, start in targets.items():
            base, _ = start()  # a fresh gateway per target: online state starts empty for each
            t0 = time.perf_counter()
            outcome = asyncio.run(replay_through(base, sample, master_key, args.concurrency))
            results[name] = summarise_replay(outcome, truth, scanned, in_campaign, time.perf_counter() - t0,
                                             len(sample))
            print_replay(name, results[name])
    return results


def summarise_replay(outcome: dict[str, Counter], truth: dict[str, dict], scanned: set[str], in_campaign: set[str],
                     seconds: float, n: int) -> dict:
    """Accounts (and their requests) by truth label and archetype, and by the scan's verdict; an account
    counts under the most severe thing that happened to any of its requests."""
    rows: dict[str, dict] = {}
    for account, counts in outcome.items():
        t = truth.get(account, {"label": "unknown", "archetype": "unknown"})
        group = "campaign" if t["label"] != "benign" else "benign"
        scan = "scan: in a campaign" if account in in_campaign else \
            "scan: no campaign" if account in scanned else "scan: never saw it"
        for key in (group, f"{group}/{t['archetype']}", scan):
            row = rows.setdefault(key, Counter())
            row["accounts"] += 1
            row["requests"] += sum(counts.values())
            for kind, k in counts.items():
                row[kind] += k
            if counts["suspended"]:
                row["accounts_suspended"] += 1
            elif counts["stepped_up"]:
                row["accounts_stepped_up"] += 1
            elif counts["throttled"]:
                row["accounts_throttled"] += 1
            elif counts["safeguarded"]:
                row["accounts_safeguarded"] += 1
            else:
                row["accounts_untouched"] += 1
    return {"seconds": seconds, "requests": n, "rows": {k: dict(v) for k, v in sorted(rows.items())}}


def print_replay(name: str, res: dict) -> None:
    print(f"\nreplay through {name}: {res['requests']} requests in {res['seconds']:.1f} s")
    cols = ("accounts", "accounts_suspended", "accounts_stepped_up", "accounts_throttled", "accounts_safeguarded",
            "accounts_untouched")
    print(f"  {'accounts':34} " + " ".join(f"{c.replace('accounts_', '').replace('accounts', 'all'):>11}"
                                            for c in cols))
    for key, row in res["rows"].items():
        print(f"  {key:34} " + " ".join(f"{row.get(c, 0):>11}" for c in cols))
    camp, ben = res["rows"].get("campaign", {}), res["rows"].get("benign", {})
    stopped = sum(camp.get(f"accounts_{k}", 0) for k in ("suspended", "stepped_up", "throttled"))
    print(f"  campaign accounts blocked or throttled: {stopped} of {camp.get('accounts', 0)}; "
          f"benign accounts untouched: {ben.get('accounts_untouched', 0)} of {ben.get('accounts', 0)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--latency-ms", type=float, nargs="+", default=[100.0, 0.0],
                    help="upstream model latencies to measure (100 ms: the gateway is not the bottleneck, as "
                         "in production; 0: every process competes for the CPU, the overhead laid bare)")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--hooks", type=int, help=argparse.SUPPRESS)  # run in .venv-litellm by the benchmark
    ap.add_argument("--hook-scan", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--decisions", type=int, default=20_000)
    ap.add_argument("--replay", action="store_true", help="replay a simulated log instead")
    ap.add_argument("--accounts", type=int, default=400)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--scan-days", type=float, default=1.0, help="days scanned before the replayed part")
    ap.add_argument("--per-account", type=int, default=5)
    args = ap.parse_args()
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
    elif args.hooks:
        print(json.dumps(hook_latency(args.hooks, args.hook_scan)))
    elif args.replay:
        args.concurrency = min(args.concurrency, 16)
        result = replay(args)
        (OUT / "replay.json").write_text(json.dumps(result, indent=1))
    else:
        result = bench(args)
        report(result)
        (OUT / "gateway.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
