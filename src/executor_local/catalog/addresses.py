"""Tool addresses: ``<integration>.<owner>.<connection>.<tool>``, ``tools.`` accepted in front.

``<tool>`` may itself contain dots (``pets.listPets``); integration, owner and connection do not.
"""

from __future__ import annotations

from dataclasses import dataclass

from executor_local.errors import InvalidInput

OWNERS = ("org", "user")


@dataclass(frozen=True)
class Address:
    integration: str
    owner: str
    connection: str
    tool: str

    def __str__(self) -> str:
        return f"{self.integration}.{self.owner}.{self.connection}.{self.tool}"


def strip_tools(text: str) -> str:
    text = text.strip()
    return text[len("tools."):] if text.startswith("tools.") else text


def parse_address(text: str) -> Address:
    """Parse a full tool address or raise ``InvalidInput`` saying which part is wrong."""
    raw = strip_tools(text or "")
    parts = raw.split(".", 3)
    if len(parts) < 4 or not all(parts):
        raise InvalidInput(
            f"{text!r} is not a tool address: expected <integration>.<owner>.<connection>.<tool>",
            code="invalid_address",
            hint="Find addresses with: executor tools search <words>")
    if parts[1] not in OWNERS:
        raise InvalidInput(f"{text!r}: owner {parts[1]!r} must be org or user",
                           code="invalid_address")
    return Address(*parts)


def address_of(integration: str, owner: str, connection: str, tool: str) -> str:
    return f"{integration}.{owner}.{connection}.{tool}"
