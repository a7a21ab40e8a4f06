"""Errors about the input: each message names the file, the row or field, and what was expected."""


class ZooheatError(Exception):
    """Base class of every error zooheat raises about its input.

    The command line and the workflow's scripts print these as one clear message (no
    traceback): the message alone must tell the user which file, which row or field, what
    was found and what was expected.
    """


class ImageError(ZooheatError, OSError):
    """A subject image is missing or cannot be decoded."""


class MarksError(ZooheatError, ValueError):
    """A mark table is missing, malformed, or holds a value that cannot be used."""
