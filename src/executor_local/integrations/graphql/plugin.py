"""The GraphQL plugin: tools from the integration's schema, and one call run end to end.

Where the schema comes from, in order: the snapshot the config points at
(``introspectionHash`` -> blob ``introspection/<sha>``), the snapshot this daemon already
fetched, or live introspection with the connection's credentials. A migrated 1.5.9 config has
only ``endpoint`` (1.5.9 drops the snapshot), so its first listing or call introspects and
keeps the result; a listing also hands the snapshot back (``Listing.blobs``/``config``) so the
catalog can store it and the next boot needs no network.

Before anything is sent, the document is checked against the schema (graphql-core): a bad
``select`` or bad variables are refused locally with a clear error and the upstream never
sees them. Stored operation strings are used as they are when they validate; bindings written
by Executor 1.4.x can be invalid (its depth-limited generator left composite fields without a
selection), and those are rebuilt from the schema instead of failing every call.
"""

from __future__ import annotations

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
from executor_local.integrations.graphql import tools as gtools
from executor_local.integrations.graphql.introspect import (
    GraphqlSchemaError,
    blob_key,
    introspect,
    parse_introspection,
    snapshot,
)

INVALID_SELECTION = "graphql_invalid_selection"
INVALID_OPERATION = "graphql_invalid_operation"
OPERATION_NOT_FOUND = "graphql_operation_not_found"
CONTROL_ARGS = ("select", "variables")

log = logging.getLogger("executor.integrations.graphql")


def request_auth(config: dict[str, Any],
                 credentials: Credentials) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and query parameters for a request: the config's static ones, then what the
    connection's auth method places (an oauth2 method is a bearer header)."""
    headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
    query = {str(k): str(v) for k, v in (config.get("queryParams") or {}).items()}
    method = credentials.method or {}
    if method.get("kind") == "oauth2":
        if "token" in credentials.values:
            headers[method.get("header") or "Authorization"] = (
                f"{method.get('prefix', 'Bearer ')}{credentials.values['token']}")
    else:
        placed_headers, placed_query, _env = placements(credentials)
        headers.update(placed_headers)
        query.update(placed_query)
    return headers, query


def missing_variables(credentials: Credentials) -> list[str]:
    """Credential variables the connection's method needs and the connection lacks."""
    method = credentials.method or {}
    if method.get("kind") == "oauth2":
        return [] if "token" in credentials.values else ["token"]
    need = {p.get("variable") or "token" for p in method.get("placements") or []
            if isinstance(p, dict) and p.get("literal") is None}
    return sorted(v for v in need if v not in credentials.values)


def unwrap_binding(binding: dict[str, Any] | None) -> dict[str, Any] | None:
    """The operation binding, whether handed over bare or as the stored
    ``{"integration", "toolName", "binding"}`` record."""
    if isinstance(binding, dict) and isinstance(binding.get("binding"), dict):
        return binding["binding"]
    return binding if isinstance(binding, dict) and binding.get("operationString") else None


class GraphqlPlugin:
    """Plugin contract (integrations/base.py) for ``plugin_id == "graphql"``."""

    plugin_id = "graphql"
    binding_collection = "operation"

    def __init__(self) -> None:
        # Snapshots fetched live, per (integration, endpoint): the "keep it" of lazy
        # introspection for configs that point at no blob.
        self._live: dict[tuple[str, str], dict[str, Any]] = {}
        # Parsed snapshots by hash: one parse (and one schema build, cached on the object)
        # per snapshot, not per call.
        self._parsed: dict[str, dict[str, Any]] = {}

    def forget(self, slug: str) -> None:
        """Drop a kept snapshot (refresh, endpoint change, removal)."""
        for key in [k for k in self._live if k[0] == slug]:
            del self._live[key]

    async def introspection(self, integration: Integration, credentials: Credentials,
                            env: PluginEnv, *, fresh: bool = False) -> tuple[dict[str, Any], bool]:
        """The integration's introspection and whether it was fetched live just now (so
        the caller may store it). ``fresh`` skips the kept live snapshot (a listing is a
        refresh: the upstream schema may have changed). Raises GraphqlSchemaError when none
        can be had."""
        config = integration.config
        sha = config.get("introspectionHash")
        if sha:
            parsed = self._parsed.get(str(sha))
            if parsed is not None:
                return parsed, False
            text = env.blob(blob_key(str(sha)))
            if text:
                parsed = parse_introspection(text, source=f"blob introspection/{sha}")
                if len(self._parsed) >= 32:
                    self._parsed.pop(next(iter(self._parsed)))
                self._parsed[str(sha)] = parsed
                return parsed, False
            log.warning("graphql %s: snapshot introspection/%s is missing; introspecting "
                        "the endpoint", integration.slug, sha)
        endpoint = str(config.get("endpoint") or "")
        if not endpoint:
            raise GraphqlSchemaError(
                f"GraphQL integration {integration.slug!r} has no endpoint and no schema",
                code="invalid_config")
        key = (integration.slug, endpoint)
        kept = None if fresh else self._live.get(key)
        if kept is not None:
            return kept, False
        headers, query = request_auth(config, credentials)
        fetched = await introspect(endpoint, headers, query_params=query,
                                   timeout_s=env.timeout_s)
        self._live[key] = fetched
        return fetched, True

    async def list_tools(self, integration: Integration, credentials: Credentials,
                         env: PluginEnv) -> Listing:
        intro, fetched = await self.introspection(integration, credentials, env, fresh=True)
        listing = gtools.listing(intro)
        if not fetched:
            return listing
        text, sha = snapshot(intro)
        return Listing(tools=listing.tools, definitions=listing.definitions,
                       warnings=listing.warnings, blobs={blob_key(sha): text},
                       config={**integration.config, "introspectionHash": sha})

    async def invoke(self, call: ToolCall, env: PluginEnv) -> Envelope:
        from executor_local.integrations.graphql import request, schema

        slug = call.integration.slug
        binding = unwrap_binding(call.binding)
        kind, _, field_name = call.tool.partition(".")
        if binding:
            kind, field_name = str(binding.get("kind") or kind), str(binding["fieldName"])
        if kind not in ("query", "mutation") or not field_name:
            return fail(OPERATION_NOT_FOUND,
                        f"{slug}.{call.tool} is not a GraphQL query.<field> or mutation.<field>")
        if not call.integration.config.get("endpoint"):
            return fail("invalid_config", f"GraphQL integration {slug!r} has no endpoint; set "
                        "one with PATCH or re-add it", retryable=False)
        missing = missing_variables(call.credentials)
        if missing:
            return fail(MISSING_CREDENTIALS,
                        f"connection {call.connection!r} of {slug} has no value for "
                        f"{', '.join(missing)}", retryable=False)

        intro: dict[str, Any] | None = None
        schema_problem: GraphqlSchemaError | None = None
        try:
            intro, _ = await self.introspection(call.integration, call.credentials, env)
        except GraphqlSchemaError as exc:
            schema_problem = exc
        gql_schema = schema.client_schema(intro) if intro is not None else None
        fresh: dict[str, Any] | None = None
        if intro is not None:
            field = gtools.find_field(intro, kind, field_name)
            if field is not None:
                fresh = gtools.build_binding(kind, field, gtools.type_map(intro))
        if binding is None:
            binding = fresh
        if binding is None:
            if schema_problem is not None:
                return fail(schema_problem.code, str(schema_problem),
                            status=schema_problem.status, retryable=schema_problem.retryable)
            return fail(OPERATION_NOT_FOUND,
                        f"the schema of {slug} has no {kind} field {field_name!r}")

        args = dict(call.args or {})
        names = list(binding.get("variableNames") or [])
        unknown = sorted(k for k in args if k not in CONTROL_ARGS and k not in names)
        if unknown:
            return fail(INVALID_ARGUMENTS,
                        f"{slug}.{call.tool} has no argument {', '.join(map(repr, unknown))}; "
                        f"it takes {', '.join(binding.get('variableNames') or []) or 'none'}"
                        " (and select)")
        # A real field argument named `select` stays an argument (Executor's rule).
        select = None if "select" in names else args.get("select")
        if select is not None and not isinstance(select, str):
            return fail(INVALID_ARGUMENTS, "select must be a string: a GraphQL selection set")
        select = (select or "").strip()

        if select:
            built = self._with_select(slug, call.tool, binding, fresh, select, gql_schema)
            if isinstance(built, dict) and "ok" in built:
                return built
            document = str(built)
        else:
            document = str(binding["operationString"])
            problems = schema.document_errors(document, gql_schema)
            if problems and fresh is not None and fresh["operationString"] != document:
                log.info("graphql %s.%s: stored operation does not validate (%s); using the one "
                         "built from the schema", slug, call.tool, problems[0])
                binding, document = fresh, fresh["operationString"]
                problems = schema.document_errors(document, gql_schema)
            if problems:
                return fail(INVALID_OPERATION,
                            f"the operation of {slug}.{call.tool} does not validate: "
                            f"{problems[0]}", details={"errors": problems, "document": document})

        variables = {n: args[n] for n in binding.get("variableNames") or [] if n in args}
        if isinstance(args.get("variables"), dict):
            variables.update(args["variables"])
        if gql_schema is not None:
            problems = schema.variable_errors(document, gql_schema, variables)
            if problems:
                return fail(INVALID_ARGUMENTS,
                            f"arguments of {slug}.{call.tool} do not fit the schema: "
                            f"{problems[0]}", details={"errors": problems})

        headers, query = request_auth(call.integration.config, call.credentials)
        return await request.post(str(call.integration.config.get("endpoint") or ""), document,
                                  variables, headers=headers, query_params=query,
                                  mutation=kind == "mutation", timeout_s=env.timeout_s,
                                  max_bytes=env.max_response_bytes,
                                  secrets=list(call.credentials.values.values()))

    def _with_select(self, slug: str, tool: str, binding: dict[str, Any],
                     fresh: dict[str, Any] | None, select: str, gql_schema: Any) -> Any:
        """The document with ``select`` as the field's selection, or a refusal envelope."""
        from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse

        from executor_local.integrations.graphql import schema

        source = binding if binding.get("operationPrefix") is not None else fresh
        if source is None or source.get("operationPrefix") is None:
            return fail(INVALID_SELECTION,
                        f"select needs the schema of {slug}, and it could not be loaded")
        document = f"{source['operationPrefix']} {{ {select} }}{source['operationSuffix']}"
        try:
            ast = parse(document)
        except GraphQLError as exc:
            return fail(INVALID_SELECTION, f"select of {slug}.{tool} is not a valid GraphQL "
                        f"selection set: {exc.message}", details={"select": select})
        ops = ast.definitions
        fields = (ops[0].selection_set.selections
                  if len(ops) == 1 and isinstance(ops[0], OperationDefinitionNode) else [])
        if len(fields) != 1 or not isinstance(fields[0], FieldNode) or (
                fields[0].name.value != binding["fieldName"]):
            return fail(INVALID_SELECTION,
                        f"select of {slug}.{tool} must stay inside the {binding['fieldName']} "
                        "field's selection (balanced braces, no other operations)",
                        details={"select": select})
        problems = schema.document_errors(document, gql_schema)
        if problems:
            return fail(INVALID_SELECTION,
                        f"select of {slug}.{tool} does not fit the schema: {problems[0]}",
                        details={"errors": problems, "select": select, "document": document})
        return document
