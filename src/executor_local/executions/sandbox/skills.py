"""The text agents read about code mode: the ``execute`` description and the ``skills`` docs.

Executor keeps the ``execute`` description short (one line, a pointer to the skill, the
connected integrations) so a session that never runs code does not pay for the how-to; the
how-to is the ``execute`` skill, fetched on demand. Ours says the same things an agent already
knows from Executor, plus what is ours: enums work, and how replay on resume shapes programs.
"""

from __future__ import annotations

INVENTORY_HEADER = "## Available integrations"
INVENTORY_LIMIT = 50

EXECUTE_SKILL = "\n".join([
    "# execute",
    "",
    "Run TypeScript in a sandbox whose only way out is `tools`: the program is the body of "
    "an async function, so use top-level `await`, and `return` a JSON value for yourself.",
    "",
    "## Workflow",
    "",
    '1. `const { items } = await tools.search({ query: "<intent and key nouns>", limit: 12 });`',
    '2. `const path = items[0]?.path; if (!path) return "No matching tools found.";`',
    "3. `const details = await tools.describe.tool({ path });` and read "
    "`details.inputTypeScript`, `details.outputTypeScript`, `details.typeScriptDefinitions`.",
    "4. `const result = await tools[path](input);` then branch on `result.ok`.",
    "5. `tools.executor.coreTools.connections.list({ integration? })` lists saved connections"
    " as `{ ok, data: { connections: [{ address, integration, owner, name, ... }] } }`; "
    "`address` starts with `tools.`.",
    "",
    "## Rules",
    "",
    "- `tools.search({ query, namespace?, limit = 12, offset = 0 })` returns ranked matches "
    "`{ items: [{ path, name, description, integration, score }], total, hasMore, nextOffset }`."
    " With `hasMore`, fetch the next page with `offset: nextOffset`. Narrow with `namespace` "
    'when you know the integration (`tools.search({ namespace: "github", query: "issues" })`).',
    "- Call tools by their full address `tools.<integration>.<owner>.<connection>.<tool>(args)`"
    " or `tools[path](args)` with the `path` that search returned. Tool names may contain dots "
    "(`pets.listPets`), so prefer `tools[path]`.",
    "- A call returns `{ ok: true, data, http? }` or `{ ok: false, error: { code, message, "
    "status?, details?, retryable? } }`. `data` is the upstream payload; OpenAPI tools also "
    "give `http: { status, headers }`.",
    "- `tools.describe.tool({ path })` gives TypeScript shapes, or `error: { code: "
    '"tool_not_found", suggestions }`: use a suggestion rather than retrying the same path.',
    "- `tools` is a lazy proxy: enumerating it (`Object.keys`, spread, `for...in`, "
    "`JSON.stringify`) throws. Use `tools.search()`.",
    "- `emit(value)` appends output for the user (a string, a JSON value, or an MCP content "
    'block such as `{ type: "text", text }` or `{ type: "image", data, mimeType }`); it is '
    "not returned to you, only counted as `emitted`. To read a value yourself, `return` it.",
    "- `console.log` output comes back with the result as `logs`.",
    "- There is no `fetch`, `require`, `import()`, timers, file system, network or environment:"
    " all I/O goes through `tools.*`. Filter large results in code rather than calling "
    "per-item tools.",
    "- TypeScript type syntax (annotations, interfaces, type aliases, generics, `as`, "
    "`satisfies`, `!`) is stripped before the program runs, and `enum` works. Decorators are "
    "not supported.",
    "- Limits: 5 minutes of running time (waiting on tools and approvals does not count), "
    "64 MiB of heap, a 1 MiB stack, and capped output.",
    "",
    "## Approvals and resume",
    "",
    "- A call that needs approval pauses the whole program; the answer carries an "
    "`executionId`. Ask the user, then call `resume` with that id and `accept`, `decline` or "
    "`cancel`. A declined call returns `{ ok: false, error: { code: \"declined\" } }` to the "
    "program, which goes on.",
    "- A pause survives a daemon restart because `resume` runs the program again from the "
    "top: calls it already made return their recorded results without reaching the upstream, "
    "and `Date`, `Math.random` and `performance.now` repeat their recorded values. So: cause "
    "side effects only through `tools.*`, and keep the program deterministic otherwise (the "
    "same calls with the same arguments in the same order). A program that takes a different "
    "path on replay is stopped with an error that names the call.",
])

SKILLS = {
    "execute": ("How to call integrations from the execute sandbox: search the catalog, read a "
                "tool's shape, call it, emit results, and resume paused runs.", EXECUTE_SKILL),
}


def skills_index() -> str:
    lines = ['Available skills. Fetch one with `skills({ name: "<name>" })`.', ""]
    lines += [f"- `{name}` — {summary}" for name, (summary, _body) in SKILLS.items()]
    return "\n".join(lines)


def skill(name: str | None) -> str:
    """The body of skill ``name``, or the index when no such skill exists."""
    if name and name in SKILLS:
        return SKILLS[name][1]
    return skills_index()


def inventory(slugs: list[str]) -> str:
    unique = sorted(set(slugs))
    if not unique:
        return ""
    shown = unique[:INVENTORY_LIMIT]
    lines = [INVENTORY_HEADER, "",
             "Integrations you have connected. Their tools live under `tools.<integration>.…`.",
             *(f"- `{s}`" for s in shown)]
    if len(unique) > len(shown):
        lines.append(f"- ... {len(unique) - len(shown)} more")
    return "\n".join(lines)


def execute_description(slugs: list[str]) -> str:
    """The ``execute`` tool's description, as Executor builds it."""
    lines = ["Execute TypeScript in a sandboxed runtime.", "",
             'Before writing code, call `skills({ name: "execute" })` for the workflow on how to '
             "use this tool."]
    block = inventory(slugs)
    if block:
        lines += ["", block]
    return "\n".join(lines)
