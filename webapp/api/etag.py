"""Versions on the wire: a case's or task's row version as its ETag, and If-Match on mutations, so two
clients never overwrite each other silently (a stale If-Match gets 412 with the current version)."""

from __future__ import annotations

from flask import request

from workflows.errors import Stale


def tag(version: int) -> str:
    return f'"{version}"'


def if_match() -> int | None:
    """The version the client last read, from If-Match; None when the header is absent (the service
    then applies its own checks only). `*` means any version. Anything else unreadable is stale."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    value = header.strip()
    if value == "*":
        return None
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit() or len(value) > 18:
        raise Stale("If-Match 不是本系统给出的版本号，请重新读取后再提交")
    return int(value)


def set_on(response_headers: dict[str, str], version: int) -> dict[str, str]:
    response_headers["ETag"] = tag(version)
    return response_headers
