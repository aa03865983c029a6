"""Analyst endpoints shared by the proxy and the webhook: verify, clear, override, audit, reload.

Protected by a bearer token; without a configured token the endpoints are not mounted at all."""

from __future__ import annotations

import hmac
from typing import Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from .decision import Action
from .engine import Engine
from .state import StateUnavailable

ADMIN_PREFIX = "/distillguard/admin"
TOKEN_ENV = "DISTILLGUARD_ADMIN_TOKEN"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Verify(_Body):
    account_id: str = Field(..., min_length=1)
    reference: str | None = None
    analyst: str = "verification"
    note: str = ""


class Clear(_Body):
    target: str = Field(..., min_length=1)
    analyst: str = Field(..., min_length=1)
    note: str = Field(..., min_length=1)
    scope: Literal["account", "campaign"] | None = None


class Expiring(Clear):
    expires_in_s: float | None = Field(None, gt=0)


class Override(Expiring):
    action: Action


class Reload(_Body):
    scan_dir: str
    use_workspace: bool = True


def router(engine: Engine, token: str) -> APIRouter:
    if not token:
        raise ValueError("the admin endpoints need a non-empty token")

    def auth(request: Request) -> None:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise HTTPException(401, "admin token required")

    r = APIRouter(dependencies=[Depends(auth)])

    def run(fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        except StateUnavailable as e:
            raise HTTPException(503, f"state unavailable: {e}") from None

    @r.post("/verify")
    def verify(b: Verify) -> dict:
        run(engine.mark_verified, b.account_id, b.reference, b.analyst, b.note)
        return {"verified": b.account_id}

    @r.post("/clear")
    def clear(b: Expiring) -> dict:
        return run(engine.clear, b.target, b.analyst, b.note, scope=b.scope, expires_in_s=b.expires_in_s)

    @r.post("/override")
    def override(b: Override) -> dict:
        return run(engine.override, b.target, b.action, b.analyst, b.note, scope=b.scope,
                   expires_in_s=b.expires_in_s)

    @r.post("/remove-override")
    def remove(b: Clear) -> dict:
        return run(engine.remove_override, b.target, b.analyst, b.note, scope=b.scope)

    @r.get("/audit")
    def audit(limit: int = 100) -> list[dict]:
        return run(engine.audit, limit)

    @r.post("/reload")
    def reload(b: Reload) -> dict:
        try:
            return engine.load_scan(b.scan_dir, use_workspace=b.use_workspace)
        except (OSError, ValueError) as e:
            raise HTTPException(400, str(e)) from None

    return r


def admin_app(engine: Engine, token: str) -> FastAPI:
    app = FastAPI(title="distillguard admin", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router(engine, token))
    return app
