"""Integrations: one package per kind (openapi, mcp, graphql) behind the plugin contract in base.py."""
