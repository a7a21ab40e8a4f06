"""The workflow deployed as HPC sites deploy software: environment modules (`--sdm env-modules`).

Debian's `environment-modules` (apt-get install environment-modules; CI installs it) loads a
modulefile the test writes, named as the config names it. The module puts a folder first on
PATH whose `python` runs the hash-locked environment of this checkout and notes each use, so
the test sees that every job ran in the module's environment, and that the results are the
bytes of a run without modules.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import copy_workflow, digests, jobs_run, snakemake

pytestmark = pytest.mark.workflow

MODULES_INIT = Path("/usr/share/modules/init/bash")
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
CONFIG = """\
subjects: example/subjects.tsv
layers:
  blobs: {task: T3, tool: 0}
overlay:
  formats: [png]
envmodules: [site/zooheat/0.1]
"""


@pytest.fixture
def modules(tmp_path) -> dict[str, str]:
    """A module tree with `site/zooheat/0.1`, and the environment that lets bash load it."""
    if not MODULES_INIT.exists():
        message = f"environment-modules is not installed ({MODULES_INIT} not found)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI installs it (.ci/run)")
        pytest.skip(message)
    venv_bin = tmp_path / "zooheat-env" / "bin"
    venv_bin.mkdir(parents=True)
    uses = tmp_path / "python-uses.log"
    python = venv_bin / "python"
    python.write_text(f'#!/bin/sh\necho "$*" >> {uses}\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    modulefile = tmp_path / "modules" / "site" / "zooheat" / "0.1"
    modulefile.parent.mkdir(parents=True)
    modulefile.write_text(
        "#%Module1.0\n"
        "## zooheat, from requirements.lock (hash-checked)\n"
        f"prepend-path PATH {venv_bin}\n"
    )
    return {"MODULEPATH": str(tmp_path / "modules"), "BASH_ENV": str(MODULES_INIT)}


def test_the_example_runs_from_an_environment_module(tmp_path, modules):
    plain = copy_workflow(tmp_path / "plain")
    (plain / "config" / "config.yaml").write_text(CONFIG)
    snakemake(plain)

    wd = copy_workflow(tmp_path / "modules-run")
    (wd / "config" / "config.yaml").write_text(CONFIG)
    proc = subprocess.run(
        [str(SNAKEMAKE), "--cores", "2", "--sdm", "env-modules"],
        cwd=wd,
        env={**os.environ, **modules},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert digests(wd) == digests(plain)
    # every job's script ran with the module's python (Snakemake asks it its version first)
    scripts = [
        line
        for line in (tmp_path / "python-uses.log").read_text().splitlines()
        if line.endswith(".py")
    ]
    jobs = [rule for rule in re.findall(r"^(?:local)?rule (\w+):$", proc.stdout + proc.stderr, re.M)
            if rule != "all"]  # fmt: skip
    assert len(jobs) > len(jobs_run(proc)) >= 24  # per-subject jobs, and the whole-project ones
    assert len(scripts) == len(jobs)
    assert all(f"{wd}/.snakemake/scripts/" in line for line in scripts)
