"""Record types for the v2 rows the catalog reads and writes, one dataclass per table.

Field names are the column names, so a row maps to a record by position (``COLUMNS``) and back;
JSON columns stay text here (``config``, ``input_schema``...) and are parsed by whoever needs
them, so a row read and written back is byte-identical to what Executor wrote.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from typing import Any, ClassVar, TypeVar

R = TypeVar("R", bound="Record")


class Record:
    """Mixin: ``TABLE``, ``COLUMNS`` and conversions to and from a SELECT/INSERT row."""

    TABLE: ClassVar[str]

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def from_row(cls: type[R], row: tuple[Any, ...]) -> R:
        return cls(*row)

    def to_row(self) -> tuple[Any, ...]:
        return astuple(self)  # type: ignore[call-overload]

    def to_dict(self) -> dict[str, Any]:
        """Column name -> value, in column order (shallow: JSON text stays text)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Owner:
    """The v2 ownership triple of an owned row (connection, tool, definition, policy, plugin
    storage): the tenant, ``org`` or ``user``, and the subject (``""`` for org)."""

    tenant: str
    owner: str  # "org" or "user"
    subject: str


@dataclass
class IntegrationRow(Record):
    TABLE: ClassVar[str] = "integration"
    slug: str
    plugin_id: str
    description: str
    config: str | None
    can_remove: int
    can_refresh: int
    created_at: int
    updated_at: int
    row_id: str
    tenant: str


@dataclass
class ConnectionRow(Record):
    TABLE: ClassVar[str] = "connection"
    integration: str
    name: str
    template: str
    provider: str
    item_ids: str
    identity_label: str | None
    oauth_client: str | None
    oauth_client_owner: str | None
    refresh_item_id: str | None
    expires_at: Any
    oauth_scope: str | None
    provider_state: str | None
    created_at: int
    updated_at: int
    row_id: str
    tenant: str
    owner: str
    subject: str
    identity_override: str | None = None


@dataclass
class ToolRow(Record):
    TABLE: ClassVar[str] = "tool"
    integration: str
    connection: str
    plugin_id: str
    name: str
    description: str
    input_schema: str | None
    output_schema: str | None
    annotations: str | None
    created_at: int
    updated_at: int
    row_id: str
    tenant: str
    owner: str
    subject: str


@dataclass
class DefinitionRow(Record):
    TABLE: ClassVar[str] = "definition"
    integration: str
    connection: str
    plugin_id: str
    name: str
    schema: str
    created_at: int
    row_id: str
    tenant: str
    owner: str
    subject: str


@dataclass
class PolicyRow(Record):
    TABLE: ClassVar[str] = "tool_policy"
    id: str
    pattern: str
    action: str
    position: str
    created_at: int
    updated_at: int
    row_id: str
    tenant: str
    owner: str
    subject: str


@dataclass
class PluginStorageRow(Record):
    TABLE: ClassVar[str] = "plugin_storage"
    plugin_id: str
    collection: str
    key: str
    data: str
    created_at: int
    updated_at: int
    row_id: str
    tenant: str
    owner: str
    subject: str


@dataclass
class BlobRow(Record):
    TABLE: ClassVar[str] = "blob"
    namespace: str
    key: str
    value: str
    row_id: str
    id: str


@dataclass
class ExecutionRow(Record):
    """Our own table (``executor_local_execution``): one tool call or program that paused.

    ``kind`` is ``tool`` (one call, resumed by running it) or ``code`` (a program paused at a
    tool call, resumed by replay: code mode keeps what it needs in ``payload``). ``status`` is
    ``paused`` → ``running`` → ``completed`` (or ``expired``); ``result`` the final envelope.
    """

    TABLE: ClassVar[str] = "executor_local_execution"
    id: str
    kind: str
    status: str
    tenant: str
    address: str
    args: str | None
    payload: str | None
    interaction: str | None
    action: str | None
    result: str | None
    origin: str
    created_at: int
    updated_at: int
    expires_at: int
