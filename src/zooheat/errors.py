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
