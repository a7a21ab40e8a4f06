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
import os
import platform
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from zlib_ng import zlib_ng

__all__ = [
    "build_key",
    "code_digest",
    "package_versions",
    "paper_provenance",
    "sha256_of",
    "source_commit",
]

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
    """Return a digest of what shapes every output: zooheat's code, Python, the packages.

    The packages are :func:`package_versions`; and the zlib-ng that compresses the quick
    looks is named too (another build of it may give other bytes).
    """
    facts = {
        "code": code_digest(),
        "python": platform.python_version(),
        "packages": package_versions(),
        "zlib-ng": zlib_ng.ZLIBNG_RUNTIME_VERSION,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Read a file and return its sha256 (hex), reading 1 MiB at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def source_commit(folder: str | os.PathLike[str] | None) -> dict[str, Any]:
    """Ask git which commit a source folder is at: ``{"commit": ..., "modified": ...}``.

    ``modified`` is true when tracked files differ from that commit (so the commit alone
    does not say what ran). Both are ``None`` outside a git checkout, without git, or with
    no folder (a workflow fetched from a URL).
    """
    if folder is None:
        return {"commit": None, "modified": None}
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", LC_ALL="C")

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(
                ["git", "-C", os.fspath(folder), *args],
                capture_output=True,
                text=True,
                timeout=30,
                env=env,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "--verify", "HEAD")
    if commit is None:
        return {"commit": None, "modified": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "modified": None if status is None else bool(status)}


def paper_provenance(
    figures: Mapping[str, Mapping[str, Any]],
    *,
    sources: Iterable[str],
    settings: Mapping[str, Any],
    commit: Mapping[str, Any],
) -> dict[str, Any]:
    """Say what made a set of paper figures; reads every file named, to hash it.

    Parameters
    ----------
    figures : mapping
        By figure name: ``parameters`` (its settings, as given), ``inputs`` (the files it was
        drawn from) and ``outputs`` (the files written).
    sources : iterable of str
        The run's own inputs (the export or subject table the figures' data came from).
    settings : mapping
        The workflow settings that shaped the figures' data (bin size, consensus, ...).
    commit : mapping
        :func:`source_commit` of the workflow's folder.

    Returns
    -------
    dict
        JSON-ready: zooheat's version, commit and code digest, Python and package versions,
        the settings, and each source, input and output with its sha256. Paths are kept as
        given (relative ones stay relative), so the same run in another folder gives the
        same record.
    """
    from zooheat import __version__

    def hashed(paths: Iterable[str]) -> dict[str, str]:
        return {os.fspath(p): sha256_of(p) for p in sorted(set(map(os.fspath, paths)))}

    return {
        "zooheat": {"version": __version__, "code_sha256": code_digest(), **commit},
        "python": platform.python_version(),
        "packages": package_versions(),
        "settings": dict(settings),
        "sources": hashed(sources),
        "figures": {
            name: {
                "parameters": dict(figure["parameters"]),
                "inputs": hashed(figure["inputs"]),
                "outputs": hashed(figure["outputs"]),
            }
            for name, figure in sorted(figures.items())
        },
    }
