"""What made an output: zooheat's code and the versions of the packages it runs on.

Outputs depend on more than their inputs and settings: on zooheat's own code and on the
packages that shape their bytes (numpy's ``.npy`` writer, matplotlib's renderer, Pillow's PNG
encoder, ...). :func:`build_key` sums both up, so a cache keyed on it is invalidated by an
upgrade of any of them. The packages are found from zooheat's installed requirements and
theirs (no list kept by hand).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata as metadata
import json
import platform
import sys
from pathlib import Path

from packaging.requirements import Requirement

__all__ = ["build_key", "code_digest", "package_versions"]

_PACKAGE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """Return the sha256 of every Python file of the zooheat package (paths and bytes).

    Examples
    --------
    >>> len(code_digest())
    64
    """
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _runtime_requirements(distribution: str) -> list[str]:
    """Names of a distribution's requirements that apply here without extras."""
    names = []
    for text in metadata.requires(distribution) or []:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.append(requirement.name)
    return names


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Return the installed version of every package zooheat needs at run time, and theirs.

    The names are the distributions' own (``numpy``, ``pillow``, ...), sorted. When zooheat
    runs from a source tree without being installed, the packages already imported stand in
    for its requirements.

    Examples
    --------
    >>> "numpy" in package_versions()
    True
    """
    try:
        pending = _runtime_requirements("zooheat")
    except metadata.PackageNotFoundError:
        loaded = {name.partition(".")[0] for name in sys.modules}
        by_module = metadata.packages_distributions()
        pending = sorted({d for m in loaded for d in by_module.get(m, ())})
    versions: dict[str, str] = {}
    while pending:
        name = pending.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in versions:
            continue
        versions[key] = dist.version
        pending.extend(_runtime_requirements(name))
    return dict(sorted(versions.items()))


@functools.lru_cache(maxsize=1)
def build_key() -> str:
    """Return a digest of zooheat's code, the Python version and :func:`package_versions`."""
    facts = {
        "code": code_digest(),
        "python": platform.python_version(),
        "packages": package_versions(),
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()
