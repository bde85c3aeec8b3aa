"""The devstack's one error: a coded SYS_7005 naming what to install or fix."""

from __future__ import annotations

from aegis_shared.errors import SystemError_


class StackError(SystemError_, RuntimeError):
    """A local server could not be started or stopped; the message says what to install or fix."""

    default_code = "SYS_7005"

    def __init__(self, message: str) -> None:
        super().__init__(self.default_code, message)
