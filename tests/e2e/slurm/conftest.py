"""A real single-node Slurm for the tests in this folder (slurm/local-cluster.sh up), started once.

Tests that need it take the ``slurm`` fixture; they are skipped, with the reason, where the daemons
cannot be installed or started (not root, no apt, no Slurm). Set SLURM_LOCAL_DIR to use another folder.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "slurm" / "local-cluster.sh"


@pytest.fixture(scope="session")
def slurm():
    have = all(shutil.which(x) for x in ("slurmctld", "slurmd", "sbatch", "munged"))
    if not have and (os.geteuid() != 0 or not shutil.which("apt-get")):
        pytest.skip("no Slurm here and it cannot be installed (needs root and apt-get): "
                    "run `bash slurm/local-cluster.sh up` as root")
    if os.geteuid() != 0:
        pytest.skip("slurm/local-cluster.sh runs its daemons as root; these tests need root")
    up = subprocess.run(["bash", str(SCRIPT), "up"], capture_output=True, text=True, timeout=600)
    if up.returncode != 0:
        pytest.skip(f"local Slurm did not start: {(up.stderr or up.stdout).strip()[-800:]}")
    env = {}
    for line in up.stdout.splitlines():
        if line.startswith("export SLURM_CONF="):
            env["SLURM_CONF"] = line.split("=", 1)[1]
        elif line.startswith("export PATH="):
            env["PATH"] = line.split("=", 1)[1].replace("$PATH", os.environ["PATH"])
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for k, v in old.items():  # the cluster stays up (other sessions may use it); `down` stops it
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def cli_env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **extra}
