"""Integrations: one package per kind (openapi, mcp, graphql) behind base.py's contract."""
