"""The web console: server-rendered pages over the catalog, served by the daemon.

Stdlib templates (``html.render``: ``string.Template`` with every value HTML-escaped) and one
small script for progressive enhancement; static files are package data read with
``importlib.resources`` (works from inside the shiv bundle). ``routes.routes()`` is mounted by
``server/app.py``. Sessions, tickets and CSRF: ``sessions`` and ``guard``; docs/web-console.md.
"""
