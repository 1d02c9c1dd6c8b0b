"""The v2 store: schema, the ledger, and opening data.db for serving."""
