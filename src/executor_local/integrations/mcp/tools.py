"""Upstream MCP tools -> catalog tools, and MCP call results -> the one result envelope.

Names as Executor gives them (``manifest.ts``): the tool id is the upstream name lower-cased
with runs of other characters turned to ``_`` (``delete_item`` stays ``delete_item``), suffixed
``_2``, ``_3`` on a clash; the real name travels in the binding and in ``annotations.mcp``.
``destructiveHint: true`` means approval by default (with the title as the approval text);
``readOnlyHint`` means none. Pure functions over plain dicts, so they need no SDK import.
"""

from __future__ import annotations

import re
from typing import Any

from executor_local.integrations.base import Envelope, ToolSpec, fail, ok

TOOL_ERROR = "mcp_tool_error"
TOOL_UNKNOWN = "mcp_tool_unknown"
MAX_ERROR_TEXT = 4000


def sanitize(name: str) -> str:
    out = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    return out or "tool"


def tool_specs(namespace: str, listed: list[dict[str, Any]]) -> list[ToolSpec]:
    """ToolSpecs for a ``tools/list`` result (tools as wire dicts, camelCase keys)."""
    seen: dict[str, int] = {}
    specs: list[ToolSpec] = []
    for tool in listed:
        name = str(tool.get("name") or "").strip()
        if not name:
            continue
        base = sanitize(name)
        seen[base] = seen.get(base, 0) + 1
        tool_id = base if seen[base] == 1 else f"{base}_{seen[base]}"
        specs.append(spec_for(namespace, tool_id, name, tool))
    return specs


def spec_for(namespace: str, tool_id: str, name: str, tool: dict[str, Any]) -> ToolSpec:
    """One tool; ``binding`` is the inner binding (``storage_document`` wraps it)."""
    upstream = {k: v for k, v in (tool.get("annotations") or {}).items() if v is not None}
    destructive = (upstream.get("destructiveHint") is True
                   and upstream.get("readOnlyHint") is not True)
    stamp: dict[str, Any] = {"toolName": name}
    if upstream:
        stamp["upstream"] = upstream
    annotations: dict[str, Any] = {"requiresApproval": destructive, "mcp": stamp}
    if destructive:
        annotations["approvalDescription"] = upstream.get("title") or tool.get("title") or name
    description = tool.get("description") or f"MCP tool: {name}"
    input_schema = tool.get("inputSchema") or tool.get("parameters") or {"type": "object"}
    binding: dict[str, Any] = {"toolId": tool_id, "toolName": name,
                               "description": tool.get("description"),
                               "inputSchema": input_schema}
    if tool.get("outputSchema") is not None:
        binding["outputSchema"] = tool["outputSchema"]
    if upstream:
        binding["annotations"] = upstream
    return ToolSpec(name=tool_id, description=description, input_schema=input_schema,
                    output_schema=tool.get("outputSchema"), annotations=annotations,
                    binding=binding)


def storage_document(namespace: str, tool_id: str, binding: dict[str, Any]) -> dict[str, Any]:
    """The ``plugin_storage`` (collection ``binding``) document, as the 1.5.9 fixture holds it:
    ``{"namespace", "toolId": "<namespace>.<tool>", "binding": {toolId, toolName, ...}}``."""
    return {"namespace": namespace, "toolId": f"{namespace}.{tool_id}", "binding": binding}


def upstream_name(tool: str, binding: dict[str, Any] | None,
                  annotations: dict[str, Any] | None = None) -> str:
    """The real MCP name for a catalog tool, from the plugin_storage row or the stamp."""
    inner = (binding or {}).get("binding") if isinstance(binding, dict) else None
    if isinstance(inner, dict) and isinstance(inner.get("toolName"), str):
        return inner["toolName"]
    if isinstance(binding, dict) and isinstance(binding.get("toolName"), str):
        return binding["toolName"]
    stamp = (annotations or {}).get("mcp")
    if isinstance(stamp, dict) and isinstance(stamp.get("toolName"), str):
        return stamp["toolName"]
    return tool


def is_unknown_tool_message(message: str, tool_name: str) -> bool:
    """Both spellings of "the server no longer has this tool": the spec's protocol error
    (``Unknown tool: x``) and the SDKs' isError text (``Tool x not found``), anchored to the
    exact name so a domain error that merely says "not found" does not match."""
    name = re.escape(tool_name)
    pattern = (rf"(?:unknown tool:?\s*\"?{name}\"?|tool\s+\"?{name}\"?\s+"
               r"(?:not found|is not available|does not exist))")
    return re.search(pattern, message, re.IGNORECASE) is not None


def _text_of(content: list[dict[str, Any]]) -> str:
    return "\n".join(block.get("text", "") for block in content
                     if isinstance(block, dict) and block.get("type") == "text")


def envelope(result: dict[str, Any], tool_name: str) -> Envelope:
    """The envelope for a ``CallToolResult`` (a wire dict): structuredContent as data when
    present, else the text (all blocks text) or the content blocks; ``isError`` -> ok: false."""
    content = [b for b in result.get("content") or [] if isinstance(b, dict)]
    if result.get("isError"):
        text = _text_of(content).strip() or "the MCP tool reported an error"
        if is_unknown_tool_message(text, tool_name):
            return unknown_tool(tool_name)
        return fail(TOOL_ERROR, text[:MAX_ERROR_TEXT], details={"content": content})
    if result.get("structuredContent") is not None:
        return ok(result["structuredContent"])
    if content and all(b.get("type") == "text" for b in content):
        return ok(_text_of(content))
    return ok(content)


def unknown_tool(tool_name: str) -> Envelope:
    return fail(TOOL_UNKNOWN,
                f'The MCP server no longer provides tool "{tool_name}". Its tool list changed; '
                "search the tools again for the current set.", retryable=False)
