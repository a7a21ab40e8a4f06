"""The workflow through profiles/slurm on a real SLURM (started by .ci/slurm/start)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, digests, snakemake
from zooheat.pipeline import STEPS

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]


@pytest.fixture(scope="module")
def slurm():
    """A running SLURM whose partition has an idle node; fails under CI when there is none."""
    problem = None
    if shutil.which("sinfo") is None:
        problem = "sinfo not found"
    else:
        state = subprocess.run(
            ["sinfo", "-h", "-o", "%P %t"], capture_output=True, text=True, check=False
        )
        if state.returncode != 0 or not state.stdout.strip():
            problem = f"sinfo failed: {state.stderr.strip()}"
    if problem:
        message = f"no SLURM here ({problem}); start one with .ci/slurm/start"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set: the cluster tests must run)")
        pytest.skip(message)


def cluster_profile(tmp_path: Path) -> Path:
    """profiles/slurm with the waits cut down for a one-node test cluster."""
    settings = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    settings.update(
        {
            "slurm-init-seconds-before-status-checks": 2,
            "latency-wait": 5,
            "retries": 0,
            "jobs": 4,
        }
    )
    settings["default-resources"].update(slurm_partition="debug", slurm_account="zooheat")
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "config.yaml").write_text(yaml.safe_dump(settings))
    return profile


def on_cluster(workdir: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("snakemake")
    # a cancelled job or a lost status can leave snakemake waiting: never wait for ever
    return subprocess.run(
        ["timeout", "-k", "10", "600", str(exe), "--profile", str(profile), *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )


def copy_of(workflow_copy: Path, name: str) -> Path:
    other = workflow_copy.parent / name
    shutil.copytree(workflow_copy, other)
    return other


def test_cluster_run_matches_a_local_run(slurm, workflow_copy, tmp_path):
    local = copy_of(workflow_copy, "local")
    snakemake(local)
    proc = on_cluster(workflow_copy, cluster_profile(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert "Job" in out and "has been submitted with SLURM jobid" in out
    cluster = digests(workflow_copy)
    assert cluster == digests(local)
    steps = len(STEPS)
    assert len(cluster) >= 3 + 4 * 2 * (steps + 1) + 2  # ingest; per subject and layer; tables
    # the 4 x 2 x steps per-subject jobs went as one group: ingest, that group, the two
    # whole-project tables, the gallery and the report's figures make six SLURM jobs
    assert out.count("has been submitted with SLURM jobid") == 6


def test_a_failing_job_fails_the_run_and_names_its_log(slurm, workflow_copy, tmp_path):
    wd = workflow_copy
    config = wd / "config" / "config.yaml"
    config.write_text(
        config.read_text().replace("export: example/classifications.csv", "export: null")
    )
    bad = wd / "example" / "marks" / "blobs" / "synthetic-0001.csv"
    lines = bad.read_text().splitlines()
    lines[3] = "volunteer999,not-a-number,12.5,3"
    bad.write_text("\n".join(lines) + "\n")
    proc = on_cluster(wd, cluster_profile(tmp_path), "--keep-going")
    out = proc.stdout + proc.stderr
    assert proc.returncode not in (0, 124, 137), out[-3000:]  # failed, not timed out
    assert "logs/histogram/blobs/synthetic-0001.log" in out
    log = wd / "logs" / "histogram" / "blobs" / "synthetic-0001.log"
    assert "field 'x': expected a number, found 'not-a-number'" in log.read_text()
