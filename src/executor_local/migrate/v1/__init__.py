"""Reading Executor 1.x data: what a ``data.db`` holds, older v1 forms brought to the v1-final
form (the fold), and the v1 secrets (``auth.json`` and the keychain)."""
