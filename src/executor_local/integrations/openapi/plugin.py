"""The OpenAPI plugin behind the contract in ``integrations/base.py``."""

from __future__ import annotations

import base64
import logging
from typing import Any

from executor_local.integrations.base import (
    INVALID_ARGUMENTS,
    MISSING_CREDENTIALS,
    Credentials,
    Envelope,
    Integration,
    Listing,
    PluginEnv,
    ToolCall,
    fail,
    placements,
)
from executor_local.integrations.openapi import auth
from executor_local.integrations.openapi.errors import SpecError
from executor_local.integrations.openapi.invoke import Limits, Scrubber, send
from executor_local.integrations.openapi.request import ArgumentProblem, prepare
from executor_local.integrations.openapi.servers import pick_base_url
from executor_local.integrations.openapi.source import compiled_for


def _method_for(integration: Integration, credentials: Credentials) -> dict[str, Any] | None:
    """The connection's method; its slug is looked up in the config when only a slug is known."""
    method = credentials.method
    if method and not method.get("placements") and method.get("kind") not in ("oauth2", "none"):
        slug = method.get("slug")
        for m in integration.config.get("authenticationTemplate") or []:
            if isinstance(m, dict) and m.get("slug") == slug:
                return m
    return method


def _render_auth(method: dict[str, Any] | None, creds: Credentials
                 ) -> tuple[dict[str, str], dict[str, str]]:
    if method is None:
        return {}, {}
    if method.get("kind") == "oauth2":
        token = creds.values.get("token")
        return ({"Authorization": f"Bearer {token}"} if token else {}), {}
    headers, query, _env = placements(Credentials(method=method, values=creds.values))
    for name, value in list(headers.items()):
        # Basic auth: a ``user:password`` value is encoded here (a base64 token has no ':').
        if value.startswith("Basic ") and ":" in value[6:]:
            headers[name] = "Basic " + base64.b64encode(value[6:].encode()).decode()
    return headers, query


class OpenApiPlugin:
    plugin_id = "openapi"
    binding_collection = "operation"

    async def list_tools(self, integration: Integration, credentials: Credentials,
                         env: PluginEnv) -> Listing:
        """Tools from the stored spec; the same for every connection (credentials unused)."""
        compiled = await compiled_for(integration.config, env.blob, timeout_s=env.timeout_s)
        return compiled.listing

    async def invoke(self, call: ToolCall, env: PluginEnv) -> Envelope:
        log = logging.getLogger(env.log)
        config = call.integration.config or {}
        method = _method_for(call.integration, call.credentials)
        scrub = Scrubber([v for v in call.credentials.values.values() if isinstance(v, str)])
        missing = [v for v in auth.required_variables(method)
                   if not call.credentials.values.get(v)]
        if missing:
            return fail(MISSING_CREDENTIALS,
                        f"connection {call.connection!r} of {call.integration.slug!r} has no "
                        f"value for {', '.join(missing)} (auth method "
                        f"{(method or {}).get('slug')!r}); update the connection",
                        retryable=False)
        binding = call.binding
        fallback: list[dict[str, Any]] = []
        spec_problem = ""
        try:
            if not binding or (not binding.get("servers") and not config.get("baseUrl")):
                compiled = await compiled_for(config, env.blob, timeout_s=env.timeout_s)
                fallback = compiled.servers or [
                    s for _n, op in compiled.operations[:1] for s in op.servers]
                if not binding:
                    binding = next((b.binding for b in compiled.listing.tools
                                    if b.name == call.tool), None)
        except SpecError as exc:
            spec_problem = f" (its spec could not be read: {exc.message})"
            if not binding:
                return fail("tool_not_found", f"{call.integration.slug}.{call.tool}: "
                            f"{exc.message}", retryable=False)
        if not binding:
            return fail("tool_not_found", f"no OpenAPI operation for tool {call.tool!r} on "
                        f"{call.integration.slug!r}", retryable=False)
        args = dict(call.args or {})
        try:
            prep = prepare(binding, args, static_headers=config.get("headers") or {},
                           static_query=config.get("queryParams") or {})
            base = pick_base_url(config.get("baseUrl"), binding.get("servers") or fallback,
                                 args.get("server"))
        except ArgumentProblem as exc:
            return fail(INVALID_ARGUMENTS, f"{call.integration.slug}.{call.tool}: {exc}",
                        retryable=False)
        if not base:
            why = spec_problem or ": the spec declares no servers and the integration has no " \
                "baseUrl"
            return fail("invalid_configuration",
                        f"{call.integration.slug!r} has no server URL{why}; give it a baseUrl "
                        "or a spec with servers", retryable=bool(spec_problem))
        auth_headers, auth_query = _render_auth(method, call.credentials)
        limits = Limits(timeout_s=env.timeout_s, max_bytes=env.max_response_bytes)
        log.debug("openapi call %s.%s %s %s", call.integration.slug, call.tool, prep.method,
                  binding.get("pathTemplate"))
        return await send(prep, base, auth_headers=auth_headers, auth_query=auth_query,
                          limits=limits, scrub=scrub, log=log)


plugin = OpenApiPlugin()
