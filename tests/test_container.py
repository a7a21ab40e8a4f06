"""The container (Containerfile): built with podman, the example run inside with no network.

The base image is bootstrapped here with mmdebstrap (Debian 12 with python3, no registry
needed) and imported into podman; the Containerfile installs requirements.lock
(hash-checked) and zooheat. The example run inside, with ``--network none``, must give every
file byte for byte as a run on the host. Needs root, podman, runc and mmdebstrap (CI installs
them, .ci/run); under CI a missing piece fails the test rather than skipping it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT, digests

pytestmark = pytest.mark.workflow

BASE = "localhost/zooheat-base:bookworm"
IMAGE = "localhost/zooheat:test"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
# What podman needs in a VM like CI's: runc (crun cannot drop cgroup v1 controllers here),
# and limits a container may set.
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]
[engine]
runtime = "runc"
"""


def podman(env: dict[str, str], *args: str, timeout: float = 1200) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["podman", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> dict[str, str]:
    """Build the image from a base bootstrapped here; return the environment podman needs."""
    missing = [tool for tool in ("podman", "runc", "mmdebstrap") if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        message = f"the container test needs root and {', '.join(missing) or 'nothing more'}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI installs podman, runc and mmdebstrap: .ci/run)")
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("container")
    conf = folder / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    if podman(env, "image", "exists", BASE).returncode != 0:
        tar = folder / "base.tar"
        subprocess.run(
            ["mmdebstrap", "--quiet", "--variant=minbase",
             "--include=python3,python3-venv,ca-certificates", "bookworm", str(tar)],
            check=True, capture_output=True, timeout=1200,
        )  # fmt: skip
        imported = podman(env, "import", str(tar), BASE)
        assert imported.returncode == 0, imported.stderr
        tar.unlink()
    build = ["build", "--quiet", "--build-arg", f"BASE={BASE}", "-t", IMAGE]
    if HOST_CA.exists():  # this machine's own certificate authorities, for the build only
        build += ["-v", f"{HOST_CA}:/etc/ssl/certs/host-ca.crt:ro"]
        build += ["--build-arg", "PIP_CERT=/etc/ssl/certs/host-ca.crt"]
    built = podman(env, *build, str(ROOT))
    assert built.returncode == 0, built.stderr[-3000:]
    return env


def test_the_example_in_the_container_gives_the_hosts_bytes(tmp_path, image, example_run):
    results = tmp_path / "container" / "results"
    results.mkdir(parents=True)
    run = podman(
        image, "run", "--rm", "--network", "none",
        "-v", f"{results}:/opt/zooheat/results", IMAGE, "snakemake", "--cores", "2",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    inside = digests(results.parent)
    assert inside == digests(example_run)
    assert len(inside) > 60

    # and there was no network to be had
    probe = "import socket; socket.create_connection(('pypi.org', 443), timeout=5)"
    offline = podman(image, "run", "--rm", "--network", "none", IMAGE, "python", "-c", probe)
    assert offline.returncode != 0
