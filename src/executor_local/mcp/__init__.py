"""The daemon as an MCP server: the tools agents see at ``/mcp`` and the ``executor mcp`` bridge.

Nothing here is imported on the boot path. ``mount`` (stdlib only) is what the daemon's app
holds; it imports the ``mcp`` SDK (``server``) on the first ``/mcp`` request. ``bridge`` is the
stdio side and never imports the SDK or opens the database.
"""
