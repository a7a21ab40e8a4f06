"""Errors about the input: each message names the file, the row or field, and what was expected."""

import errno


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


#: The most characters of a value from a file that an error message quotes.
EXCERPT = 40


def excerpt(value: object, limit: int = EXCERPT) -> str:
    r"""Quote a value read from a file for an error message: escaped, and short.

    An error names where the problem is; it never echoes a file's content into a terminal
    or a log (the file may hold anything), so a long value is cut and its length said.

    Examples
    --------
    >>> excerpt("12.5")
    "'12.5'"
    >>> print(excerpt("a\x1b[2Jsecret" * 10, limit=8))
    'a\x1b[2Jsec'... (110 characters)
    """
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def names_excerpt(names: list[str] | tuple[str, ...], count: int = 4) -> str:
    """Quote the first few names of a header for an error message, each as :func:`excerpt`.

    Examples
    --------
    >>> names_excerpt(["a", "b", "c", "d", "e", "f"], count=2)
    "'a', 'b' and 4 more"
    """
    shown = ", ".join(excerpt(name, 20) for name in names[:count])
    more = len(names) - count
    return shown + (f" and {more} more" if more > 0 else "") if names else "none"


#: What an operating system error means for the user, and what to do about it.
_OS_REASONS = {
    errno.ENOSPC: "no space left on the device (free some space, then run again: finished "
    "files are kept and the rest is made)",
    errno.EDQUOT: "disk quota exceeded (free some space, then run again)",
    errno.EROFS: "the file system is read-only (choose a writable output folder)",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "a file name is too long for the file system (use shorter subject "
    "ids or a shorter output folder)",
    errno.EISDIR: "is a folder; a file was expected",
    errno.ENOTDIR: "part of the path is a file; a folder was expected",
    errno.ENOENT: "no such file or folder",
    errno.EEXIST: "already exists",
}


def os_error_message(exc: OSError, path: object = None) -> str:
    """One line for an operating system error: the file it concerns and what went wrong.

    ``path`` names the file when the error itself does not (a ``write`` that finds the disk
    full carries no file name). The line never quotes any file's content.

    Examples
    --------
    >>> import errno
    >>> os_error_message(OSError(errno.ENOSPC, "No space left on device"), "out/a.png")[:42]
    'out/a.png: no space left on the device (fr'
    >>> os_error_message(IsADirectoryError(errno.EISDIR, "Is a directory", "figs"))
    'figs: is a folder; a file was expected'
    """
    where = exc.filename if exc.filename is not None else path
    reason = _OS_REASONS.get(exc.errno) or exc.strerror or type(exc).__name__
    return f"{where}: {reason}" if where is not None else reason


def error_line(exc: ZooheatError | OSError) -> str:
    """Say in one line what went wrong, for the command line and the workflow's jobs alike.

    An input's error as it says it; a file system's as :func:`os_error_message` says it.

    Examples
    --------
    >>> import errno
    >>> error_line(ZooheatError("a.csv, line 3: expected a number"))
    'a.csv, line 3: expected a number'
    >>> error_line(OSError(errno.EROFS, "Read-only file system", "out"))
    'out: the file system is read-only (choose a writable output folder)'
    """
    return str(exc) if isinstance(exc, ZooheatError) else os_error_message(exc)
