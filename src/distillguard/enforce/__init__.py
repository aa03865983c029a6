"""Real-time enforcement: per-request decisions in a gateway from batch verdicts and online state.

    engine = Engine.from_config("policy.yaml", scan="scan/")
    decision = engine.decide(RequestContext.from_openai(body, headers, client_ip))
    if decision.blocked: return decision.status_code, decision.error_body()
    body = engine.apply_safeguards(body, decision)

Adapters (`proxy`, `webhook`, `litellm`) only translate their framework to these calls."""

from importlib import import_module

# Exports load on first use, so `distillguard --help` does not pay for pydantic, YAML or redis.
_EXPORTS = {
    "Action": ".decision", "Decision": ".decision", "Engine": ".engine", "RequestContext": ".context",
    "template_key": ".context", "Policy": ".policy", "PolicyError": ".policy", "load_policy": ".policy",
    "MemoryState": ".state", "State": ".state", "StateUnavailable": ".state", "RedisState": ".state.redis",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
