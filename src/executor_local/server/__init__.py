"""The ASGI app: routers per API area mounted in one place (``server.app``), services on
``app.state.services``, errors mapped once (``server.errors``)."""
