"""Where connection secrets live: the OS keychain (``keyring``) or the flat ``auth.json`` file.

The store and the API hold item ids only; values go in and out of here and nowhere else.
"""
