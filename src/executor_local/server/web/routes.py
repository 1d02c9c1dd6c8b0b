"""The console's routes, mounted by ``server/app.py`` (``ROUTERS``).

Console paths (``/``, ``/login``, ``/logout``, ``/resume/...``, ``/ui/...``) are let through
``LocalSecurity`` without the bearer and checked by ``guard`` instead; the one ``/api`` route
here (minting a login ticket) is bearer-only like every other.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from executor_local.server.web import (
    login,
    pages_add,
    pages_catalog,
    pages_connections,
    pages_home,
    pages_policies,
)
from executor_local.server.web.guard import current, login_needed, refused


async def not_found(request: Request) -> Response:
    """Unknown console paths: 401 without a session (the route map stays private), else 404."""
    if current(request) is None:
        return login_needed()
    return refused("There is no such page.", 404)


def routes() -> list[BaseRoute]:
    get, post = ["GET"], ["POST"]
    return [
        Route("/api/web/tickets", login.mint, methods=post),
        Route("/login", login.login, methods=get),
        Route("/logout", login.logout, methods=post),
        Route("/ui/static/{name}", login.static, methods=get),
        Route("/", pages_home.overview, methods=get),
        Route("/ui/executions", pages_home.executions, methods=get),
        Route("/resume/{execution_id}", pages_home.resume_page, methods=get),
        Route("/resume/{execution_id}", pages_home.resume_post, methods=post),
        Route("/ui/integrations/{slug}", pages_catalog.integration, methods=get),
        Route("/ui/integrations/{slug}/remove", pages_catalog.remove_integration,
              methods=post),
        Route("/ui/tools/{address:path}", pages_catalog.tool, methods=get),
        Route("/ui/add", pages_add.add_form, methods=get),
        Route("/ui/add/{kind}", pages_add.add_post, methods=post),
        Route("/ui/connections", pages_connections.connections, methods=get),
        Route("/ui/connections", pages_connections.create, methods=post),
        Route("/ui/connections/remove", pages_connections.remove, methods=post),
        Route("/ui/policies", pages_policies.policies_page, methods=get),
        Route("/ui/policies", pages_policies.create, methods=post),
        Route("/ui/policies/{policy_id}/move", pages_policies.move, methods=post),
        Route("/ui/policies/{policy_id}/remove", pages_policies.remove, methods=post),
        Route("/ui/json/matches", pages_policies.matches_json, methods=get),
        Route("/ui/{rest:path}", not_found, methods=["GET", "POST"]),
    ]
