"""One exception tree. `cli.main` turns these into messages and exit codes."""


class TfkError(Exception):
    """Base of every error tfk raises on purpose."""

    exit_code = 1


class UserError(TfkError):
    """Something the user can fix; the message says how."""


class TemplateBugError(TfkError):
    """A template rendered into something unusable: a bug in tfk, not in the input."""

    exit_code = 3
