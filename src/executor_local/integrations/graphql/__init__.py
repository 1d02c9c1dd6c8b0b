"""GraphQL integrations: a GraphQL API's queries and mutations as tools.

- ``plugin.GraphqlPlugin``: the Plugin contract (``plugin_id`` "graphql", bindings in the
  ``operation`` collection);
- ``introspect``: ``introspect(endpoint, headers)``, ``schema_from_file(text)``, snapshots;
- ``add``: ``build_integration(...) -> (row, blobs)``, ``preview(...)``, ``load_schema(...)``;
- ``routes``: the ``/api/graphql/integrations`` HTTP routes.

Importing this package imports no heavy library; httpx and graphql-core load on first use.
"""

from __future__ import annotations

from executor_local.integrations.graphql.plugin import GraphqlPlugin


def create_plugin() -> GraphqlPlugin:
    """The plugin instance for the registry (``integrations/registry.py``)."""
    return GraphqlPlugin()


plugin = create_plugin

__all__ = ["GraphqlPlugin", "create_plugin", "plugin"]
