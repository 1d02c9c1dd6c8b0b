"""The catalog: integrations, connections, tools and search, over the store (design §9)."""

from executor_local.catalog.service import Catalog

__all__ = ["Catalog"]
