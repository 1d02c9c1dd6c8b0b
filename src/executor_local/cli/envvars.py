"""Every environment variable executor reads, in one list (the README table is tested on it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EnvVar:
    name: str
    meaning: str


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("EXECUTOR_DATA_DIR", "the data dir, as --data-dir"),
    EnvVar("EXECUTOR_JSON", "1: machine-readable output, as --json"),
    EnvVar("EXECUTOR_LOG_LEVEL", "error, warning, info or debug, as --log-level"),
    EnvVar("EXECUTOR_PORT", "the port of `daemon run`, as --port (the desktop shell sets it)"),
    EnvVar("EXECUTOR_HOST", "the address `daemon run` binds, as --hostname (the desktop shell "
                            "sets it); EXECUTOR_HOSTNAME is read too"),
    EnvVar("EXECUTOR_HOSTNAME", "the same as EXECUTOR_HOST"),
    EnvVar("EXECUTOR_AUTH_TOKEN", "the API bearer token of `daemon run`, as --auth-token"),
    EnvVar("EXECUTOR_CLIENT", "desktop: a launch that finds a daemon running prints "
                              "EXECUTOR_ATTACHED:<port> and exits 0"),
    EnvVar("EXECUTOR_AUTH_FILE", "the v1 file secret store to migrate (default: the platform "
                                 "data dir's executor/auth.json)"),
    EnvVar("EXECUTOR_KEYCHAIN_SERVICE_NAME", "the OS keychain service of v1 secrets to copy "
                                             "(default: executor)"),
    EnvVar("EXECUTOR_ALLOW_FOREIGN_OWNER", "1: as --allow-foreign-owner, use a data dir that "
                                           "belongs to another user"),
    EnvVar("EXECUTOR_SCOPE_DIR", "which tenant a data dir holding several serves (Executor's "
                                 "scope dir); one tenant is served whatever the folder"),
    EnvVar("EXECUTOR_SECRET_PROVIDER", "file or keychain: where new secret values go (default: "
                                       "the keychain when its probe passes, else the file store)"),
    EnvVar("EXECUTOR_PAUSE_TTL_S", "how long a paused call waits for its approval, in seconds "
                                   "(default 86400)"),
    EnvVar("EXECUTOR_BASE_URL", "the daemon the CLI talks to, instead of the local one"),
    EnvVar("EXECUTOR_MCP_SSE_PING_S", "seconds between keepalive comments on idle /mcp streams "
                                      "(default 15)"),
    EnvVar("EXECUTOR_MCP_SESSION_IDLE_S", "seconds an idle /mcp session is kept (default 86400)"),
    EnvVar("EXECUTOR_MCP_BROWSER_WAIT_S", "seconds resume waits for a browser approval in "
                                          "browser elicitation mode (default 241)"),
    EnvVar("EXECUTOR_UNPACK_TIMEOUT", "seconds a first launch waits for another launch that is "
                                      "unpacking the same bundle (default 120; then exit 12)"),
    EnvVar("XDG_DATA_HOME", "where the platform data dir and auth.json are on Linux"),
    EnvVar("SHIV_ROOT", "where the bundle unpacks itself (default ~/.shiv)"),
)

# Read by the program for its own plumbing or by the test suite only; not for people to set.
INTERNAL = ("EXECUTOR_DETACHED", "EXECUTOR_TEST_", "EXECUTOR_MIGRATION_", "EXECUTOR_READY",
            "EXECUTOR_ATTACHED", "EXECUTOR_SANDBOX_")
