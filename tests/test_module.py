"""The workflow used as a Snakemake module from a URL, as another project would use it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import committed_paper_sums, copy_workflow, digests, snakemake
from zooheat.provenance import sha256_of

pytestmark = pytest.mark.workflow


def test_a_project_using_zooheat_as_a_module_gets_the_examples_bytes(tmp_path, example_run):
    # the workflow where a project fetches it from (a file:// URL: no network here), and a
    # project of its own that holds only its config and data
    source = copy_workflow(tmp_path / "zooheat")
    project = tmp_path / "project"
    project.mkdir()
    for part in ("config", "example"):
        shutil.copytree(source / part, project / part)
    (project / "Snakefile").write_text(
        'configfile: "config/config.yaml"\n\n\n'
        "module zooheat:\n"
        f'    snakefile:\n        "{(source / "Snakefile").as_uri()}"\n'
        "    config:\n        config\n\n\n"
        "use rule * from zooheat\n"
    )
    snakemake(project, "all", "paper")
    assert digests(project, skip=("paper",)) == digests(example_run)
    # the paper figures too: the committed sums
    committed = committed_paper_sums()
    paper = Path(project / "results" / "paper")
    assert {name: sha256_of(paper / name) for name in committed} == committed
