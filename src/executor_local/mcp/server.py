"""The MCP server itself, on the official SDK's low-level ``Server``: ``tools/list`` and
``tools/call`` dispatch to the mode registry, and pauses are settled per connection.

Imported only by ``mount`` on the first ``/mcp`` request (never on the boot path). One
``Server`` serves every session; what a request sees (mode, elicitation mode, origin) comes
from its own HTTP request, so two clients with different options share one daemon.

Both protocol eras the SDK speaks are served: the handshake era (``initialize``, sessions with
``mcp-session-id``, server-to-client ``elicitation/create``) and 2026-07-28 (stateless
requests; elicitation as an ``InputRequiredResult`` the client answers by retrying).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from executor_local import __version__
from executor_local.mcp import approvals, registry
from executor_local.mcp.registry import ToolContext, ToolDef
from executor_local.mcp.results import (
    Paused,
    ToolResult,
    approval_message,
    dumps,
    error,
    from_exception,
    from_outcome,
    paused_for_model,
)
from executor_local.mcp.settings import NATIVE, BadQuery, TransportSettings, options_from_query

log = logging.getLogger("executor.mcp")

APPROVAL_KEY = "approval"  # the key of our one input request in an InputRequiredResult
STATE_PREFIX = "exec1:"
EMPTY_FORM: dict[str, Any] = {"type": "object", "properties": {}}
INSTRUCTIONS = ("Executor connects this agent to the user's integrations (OpenAPI, MCP and "
                "GraphQL services) with their credentials and policies. Find tools with "
                "`search`, call them with `invoke`; a call that needs approval pauses.")

ServicesGetter = Callable[[], Any]


def build_server(services: ServicesGetter, settings: TransportSettings) -> Server[Any]:
    """The one ``Server`` of this daemon; ``services()`` is read per request, so the catalog
    may be attached to the app after the MCP server was built."""
    registry.load_modes()
    handlers = _Handlers(services, settings)
    return Server("executor", version=__version__, title="Executor", instructions=INSTRUCTIONS,
                  on_list_tools=handlers.list_tools, on_call_tool=handlers.call_tool)


class _Handlers:
    def __init__(self, services: ServicesGetter, settings: TransportSettings) -> None:
        self.services = services
        self.settings = settings

    # --- per request ---------------------------------------------------------------------------

    def context(self, ctx: ServerRequestContext[Any]) -> ToolContext:
        request = ctx.request
        query: dict[str, str] = dict(request.query_params) if request is not None else {}
        try:
            options = options_from_query(query, registry.known_modes(), registry.default_mode())
        except BadQuery as exc:  # mount refuses these first; a non-HTTP transport lands here
            raise MCPError(types.INVALID_PARAMS, str(exc)) from None
        origin = ""
        if request is not None:
            origin = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
        capabilities = ctx.session.client_capabilities
        elicitation = capabilities.elicitation if capabilities is not None else None
        can_elicit = elicitation is not None and (
            elicitation.form is not None or elicitation.url is None)  # {} means form
        return ToolContext(services=self.services(), options=options, origin=origin,
                           can_elicit=can_elicit, settings=self.settings,
                           session_id=getattr(ctx.session, "session_id", None))

    async def list_tools(self, ctx: ServerRequestContext[Any],
                         _params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        tctx = self.context(ctx)
        slugs = await _integration_slugs(tctx.services)
        return types.ListToolsResult(tools=[_tool(t, tctx, slugs)
                                            for t in registry.tools_for(tctx)])

    async def call_tool(self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams,
                        ) -> types.CallToolResult | types.InputRequiredResult:
        tctx = self.context(ctx)
        tool = _find(tctx, params.name)
        if tool is None:
            names = ", ".join(t.name for t in registry.tools_for(tctx))
            return _call_result(error("unknown_tool", f"no tool {params.name!r} here; this "
                                      f"connection has: {names}"))
        try:
            if params.request_state is not None:  # a 2026-07-28 retry answering our elicitation
                out = await self._answered(tctx, params)
            else:
                out = await tool.run(tctx, dict(params.arguments or {}))
            while isinstance(out, Paused):
                if not (tctx.options.elicitation_mode == NATIVE and tctx.can_elicit):
                    return _call_result(approvals.present(tctx, out))
                if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
                    return _input_required(out)
                out = await self._elicit(ctx, tctx, out)
            return _call_result(out)
        except MCPError:
            raise
        except Exception as exc:
            known = from_exception(exc)  # bad input the catalog refused: tell the model why
            if known is not None:
                return _call_result(known)
            # A defect: the model sees a correlation id, the log has the trace (as Executor).
            ref = secrets.token_hex(4)
            log.exception("MCP tool %s failed [%s]", params.name, ref)
            return _call_result(error("internal_error", f"Internal tool error [{ref}]"))

    # --- native elicitation ------------------------------------------------------------------

    async def _elicit(self, ctx: ServerRequestContext[Any], tctx: ToolContext,
                      paused: Paused) -> ToolResult | Paused:
        """Handshake era: ask the client, then resume the persisted execution with the answer."""
        try:
            answer = await ctx.session.elicit_form(approval_message(paused), EMPTY_FORM,
                                                   related_request_id=ctx.request_id)
        except Exception as exc:  # no back-channel, client error, timeout: the pause stays
            log.warning("elicitation for %s failed: %s", paused.execution_id, exc)
            result = paused_for_model(paused)
            return ToolResult("The client could not show the approval request, so the call "
                              f"stays paused.\n\n{result.text}", result.structured, False)
        outcome = await tctx.services.executions.resume(paused.execution_id, answer.action,
                                                        answer.content or None)
        return from_outcome(outcome) if outcome is not None else error(
            "execution_not_found", f"execution {paused.execution_id} was settled elsewhere")

    async def _answered(self, tctx: ToolContext, params: types.CallToolRequestParams,
                        ) -> ToolResult | Paused:
        execution_id = _decode_state(params.request_state)
        if execution_id is None:
            raise MCPError(types.INVALID_PARAMS, "requestState was not issued by this server")
        answer = (params.input_responses or {}).get(APPROVAL_KEY)
        if not isinstance(answer, types.ElicitResult):
            found = await approvals.get_execution(tctx.services, execution_id)
            return Paused(execution_id, dict((found or {}).get("interaction") or {}))
        outcome = await tctx.services.executions.resume(execution_id, answer.action,
                                                        answer.content or None)
        if outcome is None:
            return error("execution_not_found", f"no paused execution {execution_id}")
        return from_outcome(outcome)


def _find(ctx: ToolContext, name: str) -> ToolDef | None:
    # ``resume`` stays callable even where it is not listed (a native connection whose
    # elicitation failed is told to use it).
    return registry.find(ctx, name) or (approvals.RESUME if name == "resume" else None)


def _tool(tool: ToolDef, ctx: ToolContext, slugs: list[str]) -> types.Tool:
    annotations = types.ToolAnnotations(title=tool.title, read_only_hint=tool.read_only or None)
    return types.Tool(name=tool.name, title=tool.title, description=tool.describe(slugs),
                      input_schema=tool.schema(ctx), annotations=annotations)


_BLOCKS: dict[str, Any] = {"text": types.TextContent, "image": types.ImageContent,
                           "audio": types.AudioContent, "resource": types.EmbeddedResource,
                           "resource_link": types.ResourceLink}


def _call_result(result: ToolResult) -> types.CallToolResult:
    content: list[Any] = [types.TextContent(type="text", text=result.text)]
    for block in result.content:
        try:
            content.append(_BLOCKS[block.get("type")].model_validate(block))
        except (KeyError, TypeError, ValueError):  # not a valid block: shown as JSON
            content.append(types.TextContent(type="text", text=dumps(block)))
    return types.CallToolResult(content=content, structured_content=result.structured,
                                is_error=result.is_error)


def _input_required(paused: Paused) -> types.InputRequiredResult:
    request = types.ElicitRequest(params=types.ElicitRequestFormParams(
        message=approval_message(paused), requested_schema=EMPTY_FORM))
    return types.InputRequiredResult(input_requests={APPROVAL_KEY: request},
                                     request_state=_encode_state(paused.execution_id))


def _encode_state(execution_id: str) -> str:
    raw = json.dumps({"executionId": execution_id}).encode()
    return STATE_PREFIX + base64.urlsafe_b64encode(raw).decode()


def _decode_state(state: str | None) -> str | None:
    if not state or not state.startswith(STATE_PREFIX):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(state[len(STATE_PREFIX):]))
    except ValueError:
        return None
    value = data.get("executionId") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else None


async def _integration_slugs(services: Any) -> list[str]:
    """Connected integration slugs for the descriptions; a catalog failure must not take the
    tool list down with it."""
    if services is None:
        return []
    import anyio.to_thread

    try:
        found = await anyio.to_thread.run_sync(services.catalog.integrations)
    except Exception:
        log.exception("listing integrations for the MCP tool descriptions failed")
        return []
    if isinstance(found, dict):
        found = found.get("items") or found.get("integrations") or []
    slugs: list[str] = []
    for item in found or []:
        slug = item.get("slug") if isinstance(item, dict) else getattr(item, "slug", None)
        if isinstance(slug, str) and slug not in slugs:
            slugs.append(slug)
    return sorted(slugs)
