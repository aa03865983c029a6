"""HTTP decision service for gateways that call out before forwarding (Portkey, Kong, Envoy ext_authz).

POST /v1/decide        JSON request context -> decision, the client-facing error and the rewritten body (with
                       `path`, only a generation endpoint's body is rewritten: embeddings take no caps)
POST /v1/response      a response (and the pre-call decision) -> the response with output safeguards
ANY  /ext_authz/{path} Envoy's HTTP ext_authz: 200 lets the request through, otherwise the client's error
The caller is trusted (it sees reason codes); what it passes on to the client is `error` only."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from .admin import ADMIN_PREFIX, admin_app
from .context import RequestContext
from .decision import Decision
from .engine import Engine
from .safeguards import generates


class DecideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: str | None = None
    client_ip: str | None = None
    org_id: str | None = None
    payment_fingerprint: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] = Field(default_factory=dict)
    path: str | None = None  # the endpoint called; only generation endpoints are rewritten (None: the body decides)
    ts: float | None = None


class ResponseRequest(DecideRequest):
    response: dict[str, Any]
    decision: dict[str, Any] | None = None  # the /v1/decide answer's `decision`; looked up again if absent


def _context(engine: Engine, r: DecideRequest) -> RequestContext:
    try:
        return RequestContext.from_openai(r.body, r.headers, r.client_ip, account_id=r.account_id,
                                          key_accounts=engine.policy.key_accounts,
                                          trust_headers=engine.policy.trust_account_header, ts=r.ts,
                                          org_id=r.org_id, payment_fingerprint=r.payment_fingerprint)
    except ValueError as e:
        raise HTTPException(400, str(e)) from None


def _decision_from(d: dict) -> Decision:
    try:
        return Decision.from_dict(d)
    except ValueError as e:
        raise HTTPException(400, str(e)) from None


def create_app(engine: Engine, *, admin_token: str | None = None) -> FastAPI:
    app = FastAPI(title="distillguard decision webhook", docs_url=None, redoc_url=None)

    @app.post("/v1/decide")
    async def decide(r: DecideRequest) -> dict:
        ctx = _context(engine, r)
        d = await engine.adecide(ctx)
        return {"allow": not d.blocked, "status": d.status_code, "decision": d.to_dict(),
                "error": d.error_body() if d.blocked else None,
                "headers": d.error_headers(),
                "body": engine.apply_safeguards(ctx.body, d) if d.safeguards and generates(r.path) else None}

    @app.post("/v1/response")
    async def response(r: ResponseRequest) -> dict:
        ctx = _context(engine, r)
        d = _decision_from(r.decision) if r.decision is not None else await engine.adecide(ctx, record=False)
        return {"response": engine.observe_response(ctx, r.response, d) if generates(r.path) else r.response}

    @app.api_route("/ext_authz/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    async def ext_authz(path: str, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {}
        forwarded = request.headers.get("x-forwarded-for", "")
        ip = forwarded.split(",")[0].strip() or (request.client.host if request.client else None)
        try:
            ctx = RequestContext.from_openai(body if isinstance(body, dict) else {}, dict(request.headers), ip,
                                             key_accounts=engine.policy.key_accounts,
                                             trust_headers=engine.policy.trust_account_header, ts=time.time())
        except ValueError:
            return JSONResponse({"error": {"message": "authentication required", "type": "unauthorized"}}, 401)
        d = await engine.adecide(ctx)
        if d.blocked:
            return JSONResponse(d.error_body(), d.status_code, headers=d.error_headers())
        return Response(status_code=200, headers={"x-distillguard-action": d.action.value})

    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True, "scan": engine.verdicts.source, "campaigns": len(engine.verdicts.campaigns)}

    if admin_token:
        app.mount(ADMIN_PREFIX, admin_app(engine, admin_token))
    return app
