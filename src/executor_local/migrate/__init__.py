"""The v1 -> v2 migration of data.db: probe, journal, snapshot, build, verify, flip, recover."""
