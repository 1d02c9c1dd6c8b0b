"""One parsed document -> the tools, their shared ``$defs`` and the bindings ``invoke`` needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from executor_local.integrations.base import Listing, ToolSpec
from executor_local.integrations.openapi import naming, schemas
from executor_local.integrations.openapi.extract import Operation, extract, servers_of
from executor_local.integrations.openapi.refs import Resolver

APPROVAL_METHODS = ("post", "put", "patch", "delete")


def annotations_for(method: str, path: str) -> dict[str, Any]:
    """POST/PUT/PATCH/DELETE need approval unless a policy says otherwise (Executor's default)."""
    if method.lower() not in APPROVAL_METHODS:
        return {}
    return {"requiresApproval": True, "approvalDescription": f"{method.upper()} {path}"}


def description_for(op: Operation) -> str:
    return op.description or op.summary or f"{op.method.upper()} {op.path}"


def binding_for(op: Operation) -> dict[str, Any]:
    """Executor's ``OperationBinding`` as it encodes it (absent options are absent keys)."""
    out: dict[str, Any] = {"method": op.method}
    if op.servers:
        out["servers"] = op.servers
    out["pathTemplate"] = op.path
    out["parameters"] = op.parameters
    if op.request_body:
        out["requestBody"] = op.request_body
    return out


@dataclass
class Compiled:
    doc: dict[str, Any]
    spec_url: str | None
    operations: list[tuple[str, Operation]]
    listing: Listing
    servers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def info(self) -> dict[str, Any]:
        info = self.doc.get("info")
        return info if isinstance(info, dict) else {}

    @property
    def title(self) -> str | None:
        t = self.info.get("title")
        return t.strip() if isinstance(t, str) and t.strip() else None


def compile_spec(doc: dict[str, Any], spec_url: str | None = None) -> Compiled:
    r = Resolver(doc)
    nullable_30 = str(doc.get("openapi", "")).startswith("3.0")
    ops = extract(doc, r, spec_url)
    plans = naming.plan_tool_paths([
        naming.PathInput(
            operation_id=naming.default_operation_id(op.method, op.key, op.operation_id),
            explicit=op.explicit_tool_path, method=op.method, path=op.path,
            tag0=op.tags[0] if op.tags else None)
        for op in ops
    ])
    tools: list[ToolSpec] = []
    named: list[tuple[str, Operation]] = []
    for name, index in plans:
        op = ops[index]
        named.append((name, op))
        tools.append(ToolSpec(
            name=name,
            description=description_for(op),
            input_schema=schemas.input_schema(op, r, nullable_30=nullable_30),
            output_schema=schemas.output_schema(op, r, nullable_30=nullable_30),
            annotations=annotations_for(op.method, op.path),
            binding=binding_for(op),
        ))
    defs = schemas.definitions(doc, r, nullable_30=nullable_30)
    warnings = list(r.warnings)
    if not ops:
        warnings.append("the document declares no operations, so it gives no tools")
    return Compiled(doc=doc, spec_url=spec_url, operations=named,
                    listing=Listing(tools=tools, definitions=defs, warnings=warnings),
                    servers=servers_of(doc.get("servers"), spec_url))
