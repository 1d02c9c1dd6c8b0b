"""One module per API area; each exposes ``routes() -> list[BaseRoute]`` (paths under /api)."""
