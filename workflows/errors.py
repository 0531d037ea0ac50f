"""One exception hierarchy for the service layer; the web layer maps each to a status once."""

from __future__ import annotations


class HuiqianError(Exception):
    code = "error"

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotFound(HuiqianError):
    code = "not_found"


class Unauthenticated(HuiqianError):
    """Not signed in, or the credentials were refused. `locked_until` is set when too many wrong
    passwords locked the account."""

    code = "unauthenticated"

    def __init__(self, message: str, *, locked_until: object = None) -> None:
        super().__init__(message)
        self.locked_until = locked_until


class Forbidden(HuiqianError):
    code = "forbidden"


class Conflict(HuiqianError):
    """The thing changed since it was read (stale version), or the action no longer applies."""

    code = "conflict"


class Busy(Conflict):
    """The record is being changed by someone else right now and did not free up in time: retry."""

    code = "busy"


class Stale(Conflict):
    """The caller's copy is out of date: the version it read (If-Match) is not the current one."""

    code = "stale"

    def __init__(self, message: str, *, current_version: int | None = None) -> None:
        super().__init__(message)
        self.current_version = current_version


class Invalid(HuiqianError):
    """Input failed validation; `errors` names each field with its messages."""

    code = "invalid"


class ProcessDefinitionError(HuiqianError):
    """A BPMN file is malformed or unsafe. `element_id` names the offending element."""

    code = "process_definition"

    def __init__(self, message: str, *, element_id: str | None = None, file: str | None = None) -> None:
        super().__init__(message)
        self.element_id = element_id
        self.file = file

    def __str__(self) -> str:
        where = ", ".join(p for p in (self.file and f"文件 {self.file}", self.element_id and f"元素 {self.element_id}") if p)
        return f"{where}: {self.message}" if where else self.message


class ProcessError(HuiqianError):
    """The engine failed while moving a case (e.g. an expression raised). The case is left unchanged;
    a `process_error` event is recorded in its own transaction so supervisors see it."""

    code = "process_error"

    def __init__(self, message: str, *, case_id: int | None = None, actor_id: int | None = None,
                 detail: str | None = None) -> None:
        super().__init__(message)
        self.case_id = case_id
        self.actor_id = actor_id
        self.detail = detail


class Unavailable(HuiqianError):
    """The database could not be reached or failed in a way the caller cannot fix."""

    code = "unavailable"
