"""What made an output: the code digest and the package versions, found without a list."""

import importlib.metadata as metadata
import shutil
import tomllib

from packaging.requirements import Requirement

from tests.conftest import ROOT
from zooheat import provenance


def test_package_versions_are_zooheats_requirements_and_theirs():
    versions = provenance.package_versions()
    for name in ("numpy", "matplotlib", "pillow", "pyarrow", "orjson", "pyyaml"):
        assert versions[name] == metadata.version(name)
    assert versions["contourpy"] == metadata.version("contourpy")  # matplotlib's, in turn
    assert "pytest" not in versions and "snakemake" not in versions  # extras only
    assert list(versions) == sorted(versions)


def test_the_build_key_follows_the_code_and_the_versions(tmp_path, monkeypatch):
    key = provenance.build_key()
    assert key == provenance.build_key()

    copy = tmp_path / "zooheat"
    shutil.copytree(provenance._PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for cached in (provenance.code_digest, provenance.build_key, provenance.package_versions):
        cached.cache_clear()
    monkeypatch.setattr(provenance, "_PACKAGE", copy)
    assert provenance.build_key() == key  # the same code elsewhere: the same key
    (copy / "histogram.py").write_text((copy / "histogram.py").read_text() + "\n# edited\n")
    provenance.code_digest.cache_clear()
    provenance.build_key.cache_clear()
    edited = provenance.build_key()
    assert edited != key

    provenance.build_key.cache_clear()
    monkeypatch.setattr(provenance, "package_versions", lambda: {"numpy": "0.0"})
    assert provenance.build_key() not in (key, edited)
    provenance.build_key.cache_clear()
    provenance.code_digest.cache_clear()


def test_the_citation_names_this_version_and_license():
    """CITATION.cff (validated by cffconvert in make lint) agrees with the package."""
    import tomllib

    import yaml

    import zooheat

    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert citation["version"] == project["version"] == zooheat.__version__
    assert citation["license"] == project["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_every_conda_pin_is_the_locks_version():
    """envs/*.yaml pins each package at requirements.lock's version (conda's names mapped)."""
    import re

    import yaml

    lock = {
        name.lower().replace("_", "-"): version
        for name, version in re.findall(
            r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "requirements.lock").read_text(), re.M
        )
    }
    conda_names = {"matplotlib-base": "matplotlib", "python-zlib-ng": "zlib-ng"}
    runtime = {
        Requirement(spec).name.lower()
        for spec in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    for env in sorted((ROOT / "envs").glob("*.yaml")):
        pinned = set()
        for spec in yaml.safe_load(env.read_text())["dependencies"]:
            if not isinstance(spec, str) or "=" not in spec:
                continue
            name, version = (part.strip() for part in spec.split("=", 1))
            if name == "python":
                assert version == "3.11", env  # the lock is made for Python 3.11
                continue
            assert lock[conda_names.get(name, name)] == version, (env.name, name)
            pinned.add(conda_names.get(name, name))
        # zooheat goes in with --no-deps: every package it needs must be pinned here
        assert runtime <= pinned, (env.name, sorted(runtime - pinned))
