"""The daemon: the HTTP app and the server that runs it."""
