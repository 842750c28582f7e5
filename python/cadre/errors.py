"""The exceptions the SDK raises: one per coordinator status code, so callers can
catch exactly what they mean (``except cadre.NotFound``). Each carries the
coordinator's message verbatim, field path and all."""


class CadreError(Exception):
    """Any error from Cadre. ``code`` is the coordinator's status code name."""

    code = "Internal"

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidArgument(CadreError, ValueError):
    """A spec or request was wrong; the message names the field."""

    code = "InvalidArgument"


class NotFound(CadreError, LookupError):
    code = "NotFound"


class AlreadyExists(CadreError):
    code = "AlreadyExists"


class FailedPrecondition(CadreError):
    """The request does not fit the object's state (e.g. logs of a queued job)."""

    code = "FailedPrecondition"


class PermissionDenied(CadreError, PermissionError):
    """This client's key (or token) may not do that."""

    code = "PermissionDenied"


class Unavailable(CadreError, ConnectionError):
    """The coordinator (or ingress) could not be reached or refused our key."""

    code = "Unavailable"


class DeadlineExceeded(CadreError, TimeoutError):
    """A request or a wait ran out of time."""

    code = "DeadlineExceeded"


class DataLoss(CadreError):
    """A corrupt file or message."""

    code = "DataLoss"


class Internal(CadreError):
    code = "Internal"


class WorkloadFailed(CadreError):
    """A job, experiment or run ended in a phase other than the one waited for.

    ``status`` is its last status (a dict as the coordinator sent it) and
    ``log_tail`` the end of its log, when it has one."""

    code = "Failed"

    def __init__(self, message, status=None, log_tail=""):
        if log_tail:
            message = message + "\n--- last lines of its log ---\n" + log_tail.rstrip("\n")
        super().__init__(message)
        self.status = status or {}
        self.log_tail = log_tail


_BY_CODE = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        FailedPrecondition,
        PermissionDenied,
        Unavailable,
        DeadlineExceeded,
        DataLoss,
        Internal,
    )
}


def from_code(code, message):
    """The exception for a coordinator ErrorReply; an unknown code stays a CadreError
    that keeps the code, so nothing the coordinator says is lost."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return CadreError(message, code=code or "Internal")
    return cls(message)
