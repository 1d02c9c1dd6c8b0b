"""Writing a plan into the v2 staging database, the big v1 tables copied inside SQLite."""
