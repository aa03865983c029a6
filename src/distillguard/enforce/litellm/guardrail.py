"""The LiteLLM guardrail: LiteLLM's pre- and post-call hooks wired to the engine (through `hooks`).

Configured from the environment of the LiteLLM process:

    DISTILLGUARD_POLICY        policy YAML (default: the shipped policy)
    DISTILLGUARD_SCAN          scan output directory whose verdicts are loaded (optional)
    DISTILLGUARD_REDIS_URL     use Redis state at this URL instead of the policy's state backend
    DISTILLGUARD_SCAN_RELOAD_S how often to look for a newer scan in DISTILLGUARD_SCAN (default 300;
                               0 never). Publish a new scan by swapping a symlink, not file by file.
    DISTILLGUARD_ADMIN_TOKEN   when set, the analyst endpoints (verify, clear, override, audit,
                               reload) are served by LiteLLM under /distillguard/admin, behind this
                               bearer token: with in-process state they are the only way to reach it."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any, AsyncGenerator

from fastapi import HTTPException
from litellm.integrations.custom_guardrail import CustomGuardrail

from ..admin import ADMIN_PREFIX, TOKEN_ENV, admin_app
from ..engine import Engine
from ..policy import load_policy
from . import hooks

log = logging.getLogger("distillguard.enforce.litellm")


class DistillGuard(CustomGuardrail):
    def __init__(self, **kwargs: Any) -> None:
        policy = load_policy(os.environ.get("DISTILLGUARD_POLICY") or None)
        redis_url = os.environ.get("DISTILLGUARD_REDIS_URL")
        if redis_url:
            policy = policy.model_copy(update={"state": policy.state.model_copy(
                update={"backend": "redis", "redis_url": redis_url})})
        self.engine = Engine.from_config(policy)
        self._scan = os.environ.get("DISTILLGUARD_SCAN") or None
        self._reload_s = float(os.environ.get("DISTILLGUARD_SCAN_RELOAD_S", "300"))
        self._scan_version: tuple[int, ...] | None = None
        self._next_check = 0.0
        self._reloading = False
        if self._scan:
            self._scan_version = self._version()
            log.info("distillguard: scan %s loaded: %s", self._scan, self.engine.load_scan(self._scan))
        token = os.environ.get(TOKEN_ENV)
        if token:
            _mount_admin(admin_app(self.engine, token))
        super().__init__(**kwargs)

    async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any, data: dict, call_type: str) -> dict:
        self._maybe_reload()
        try:
            decision = await self.engine.adecide(hooks.request_context(self.engine, user_api_key_dict, data))
        except Exception:  # a bug here must not decide for the policy: follow its on_error
            log.exception("distillguard: no decision for this request")
            if self.engine.policy.state.on_error == "fail_closed":
                raise HTTPException(status_code=503, detail={"error": {
                    "message": "The service is temporarily unavailable. Please retry later.",
                    "type": "service_unavailable", "code": "service_unavailable"}})
            return data
        if decision.blocked:
            raise HTTPException(status_code=decision.status_code, detail=decision.error_body(),
                                headers=decision.error_headers() or None)
        hooks.stash(data, decision)
        hooks.cap_request(self.engine, data, decision, call_type)
        return data

    async def async_post_call_success_hook(self, data: dict, user_api_key_dict: Any, response: Any) -> Any:
        decision = hooks.stashed(data)
        if decision is not None and decision.safeguards and (hasattr(response, "choices")
                                                             or hasattr(response, "output")):
            hooks.withhold(self.engine, response, decision,
                           hooks.request_context(self.engine, user_api_key_dict, data))
        return response

    async def async_post_call_streaming_iterator_hook(self, user_api_key_dict: Any, response: Any,
                                                      request_data: dict) -> AsyncGenerator[Any, None]:
        decision = hooks.stashed(request_data)
        if decision is None or not decision.safeguards:
            async for chunk in response:
                yield chunk
            return
        async for chunk in response:
            hooks.withhold(self.engine, chunk, decision)
            yield chunk

    # -- scan reload ------------------------------------------------------------------------------
    def _version(self) -> tuple[int, ...] | None:
        try:
            return tuple(os.stat(Path(self._scan) / name).st_mtime_ns for name in ("accounts.csv", "campaigns.json"))
        except OSError:
            return None

    def _maybe_reload(self) -> None:
        """At most every DISTILLGUARD_SCAN_RELOAD_S, one stat per file; loading runs in a thread."""
        if not self._scan or self._reload_s <= 0 or self._reloading:
            return
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self._reload_s
        if self._version() in (None, self._scan_version):
            return
        self._reloading = True
        asyncio.get_running_loop().create_task(self._reload())

    async def _reload(self) -> None:
        version = self._version()
        try:
            counts = await asyncio.to_thread(self.engine.load_scan, self._scan)
            self._scan_version = version
            log.info("distillguard: scan %s reloaded: %s", self._scan, counts)
        except Exception:  # keep deciding on the verdicts already loaded
            log.exception("distillguard: could not reload scan %s", self._scan)
        finally:
            self._reloading = False


def _mount_admin(app: Any) -> None:
    from litellm.proxy.proxy_server import app as proxy_app
    from starlette.routing import Mount

    # First in the route list: LiteLLM's own catch-all pass-through routes must not shadow it.
    proxy_app.router.routes.insert(0, Mount(ADMIN_PREFIX, app))
