"""Which base URL a call goes to: ``config.baseUrl``, else the chosen server with its variables."""

from __future__ import annotations

from typing import Any

from executor_local.integrations.openapi.request import ArgumentProblem


def substitute(url: str, variables: dict[str, Any] | None, overrides: dict[str, Any]) -> str:
    values = {name: v.get("default", "") for name, v in (variables or {}).items()
              if isinstance(v, dict)}
    for name, value in overrides.items():
        if value not in (None, ""):
            values[name] = str(value)
    for name, value in values.items():
        url = url.replace(f"{{{name}}}", str(value))
    return url


def pick_base_url(base_url: Any, servers: list[dict[str, Any]], server_arg: Any) -> str:
    if isinstance(base_url, str) and base_url.strip():
        return base_url.strip()
    if not servers:
        return ""
    arg = server_arg if isinstance(server_arg, dict) else {}
    chosen = servers[0]
    if arg.get("url") is not None:
        chosen = next((s for s in servers if s.get("url") == arg["url"]), None)
        if chosen is None:
            known = ", ".join(str(s.get("url")) for s in servers)
            raise ArgumentProblem(f"server.url {arg['url']!r} is not one of {known}")
    overrides = arg.get("variables") if isinstance(arg.get("variables"), dict) else {}
    for name, value in overrides.items():
        enum = ((chosen.get("variables") or {}).get(name) or {}).get("enum")
        if enum and value not in enum:
            raise ArgumentProblem(f"server variable {name}={value!r} is not one of "
                                  f"{', '.join(enum)}")
    url = substitute(str(chosen.get("url", "")), chosen.get("variables"), overrides)
    if "{" in url:
        raise ArgumentProblem(f"server URL {url!r} has variables with no value")
    return url
