"""Deciding every v2 row from a v1-final snapshot: integrations (configs per plugin),
connections, policies, and the counts the copy of the big tables must produce."""
