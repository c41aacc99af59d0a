"""`labreport run --executor ray` on a real Ray cluster of this machine (2 CPUs), one per module.

The cluster runs in its own process (as `ray start --head` would); the command
joins it with --address, like a user's command joins a lab's cluster.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from lab.core.faults import DIE_ENV, DIE_ONCE_ENV
from lab.core.matrix import RunSpec
from lab.core.node_inputs import FOREIGN_NODE_ENV
from lab.core.ray_executor import INSTALL_HINT, WORKER_NICENESS, connect, device_of, resources
from tests.conftest import labreport
from tests.test_reliability import LONG_CIFAR, records, table, twin

pytestmark = pytest.mark.ray
ray = pytest.importorskip("ray")

CLUSTER = """
import sys, ray
ray.init(num_cpus=2, include_dashboard=False)
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # until the test closes it
ray.shutdown()
"""
# A throwaway cluster of this test: no token to share between its processes.
NO_AUTH = {"RAY_AUTH_MODE": "disabled"}
TIMES = ["train_seconds", "test_seconds", "seconds"]  # how long a step took is no result


@pytest.fixture(scope="module")
def cluster_address():
    process = subprocess.Popen(
        [sys.executable, "-c", CLUSTER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **NO_AUTH, WORKER_NICENESS: "0"},  # as a cluster the command starts: not starved
    )
    address = process.stdout.readline().strip()
    assert address, "the Ray cluster did not start"
    yield address
    process.stdin.close()
    process.wait(timeout=120)


def every_table(lab: Path) -> dict[str, pd.DataFrame]:
    runs = lab / "reports" / "runs"
    return {
        str(path.relative_to(runs)): pd.read_csv(path).drop(columns=TIMES, errors="ignore")
        for path in sorted(runs.glob("*/*/*.csv"))
    }


SENT_DATA = "data: this node reads the copy sent from the driver"


def test_a_sweep_on_ray_lands_in_the_store_with_the_local_keys_and_numbers(tiny_lab, tmp_path_factory, cluster_address):
    """On nodes without the data folder (as the fault hook makes them act): they read the driver's copy."""
    foreign = {**NO_AUTH, FOREIGN_NODE_ENV: "1"}
    on_ray = labreport(tiny_lab, "run", "--executor", "ray", "--address", cluster_address, env=foreign, check=0)
    local = twin(tiny_lab, tmp_path_factory)
    labreport(local, "run", check=0)
    remote_tables, local_tables = every_table(tiny_lab), every_table(local)
    assert sorted(remote_tables) == sorted(local_tables)  # same runs, same keys, same files
    for name, frame in local_tables.items():
        pd.testing.assert_frame_equal(remote_tables[name], frame, check_exact=True, obj=name)
    assert "cifar: epoch 2/2" in on_ray.stdout  # a remote run's progress, shown here
    assert f"cifar: {SENT_DATA}" in on_ray.stdout
    assert "partial" not in labreport(tiny_lab, "list", check=0).stdout


def test_a_worker_killed_mid_run_is_retried_from_its_last_checkpoint(tiny_lab, tmp_path_factory, cluster_address):
    dying = {**NO_AUTH, DIE_ENV: "cifar:checkpoint:1", DIE_ONCE_ENV: str(tiny_lab / "died")}
    run = labreport(tiny_lab, "run", *LONG_CIFAR, "--executor", "ray", "--address", cluster_address, env=dying, check=0)
    assert (tiny_lab / "died").exists()  # the worker did die, after its first checkpoint
    assert "cifar: resuming after epoch 1" in run.stdout
    assert SENT_DATA not in run.stdout  # this node has the data: no copy
    assert [r["status"] for r in records(tiny_lab, "cifar")] == ["done"]
    reference = twin(tiny_lab, tmp_path_factory)
    labreport(reference, "run", *LONG_CIFAR, check=0)
    columns = ["epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc"]
    pd.testing.assert_frame_equal(
        table(tiny_lab, "cifar", "epochs.csv")[columns], table(reference, "cifar", "epochs.csv")[columns]
    )


def test_without_ray_the_ray_executor_exits_2_saying_what_to_install(tiny_lab, tmp_path):
    (tmp_path / "no_ray").mkdir()
    (tmp_path / "no_ray" / "sitecustomize.py").write_text("import sys\nsys.modules['ray'] = None  # as if absent\n")
    pythonpath = f"{tmp_path / 'no_ray'}:{Path(__file__).resolve().parents[1]}"
    result = labreport(tiny_lab, "run", "--executor", "ray", env={"PYTHONPATH": pythonpath}, check=2)
    assert INSTALL_HINT in result.stderr.replace("\n", "")
    assert not (tiny_lab / "reports" / "runs").exists()  # nothing ran


class TwoNodes:
    """ray's cluster view: a 2-core node and an 8-core one (ray.nodes() as Ray returns it)."""

    @staticmethod
    def nodes():
        small = {"CPU": 2.0, "memory": 8e9}
        large = {"CPU": 8.0, "memory": 64e9}
        return [{"Alive": True, "Resources": small}, {"Alive": True, "Resources": large}, {"Alive": False}]


def test_a_long_run_asks_for_the_smallest_nodes_cores_and_their_memory_which_ray_never_lends():
    long_run, small_run = RunSpec("cifar", {}, "k"), RunSpec("fit.lr", {}, "k", side_by_side=True)
    assert resources(TwoNodes, long_run, "cpu") == {"num_cpus": 2, "memory": 8_000_000_000}
    assert resources(TwoNodes, small_run, "cpu") == {"num_cpus": 1, "memory": 4_000_000_000}
    assert resources(TwoNodes, long_run, "cuda") == {"num_cpus": 1, "num_gpus": 1}
    assert resources(TwoNodes, small_run, "cuda") == {"num_cpus": 1, "memory": 4_000_000_000}
    assert device_of(small_run, "cuda") == "cpu" and device_of(long_run, "cuda") == "cuda"


class RecordingRay:
    """ray.init as the command calls it, recording the priority its workers would get."""

    def __init__(self):
        self.niceness: list[str | None] = []

    def init(self, **options):
        self.niceness.append(os.environ.get(WORKER_NICENESS))


def test_a_cluster_started_for_the_command_runs_at_the_users_priority_one_joined_keeps_its_own(monkeypatch):
    monkeypatch.setenv(WORKER_NICENESS, "unset below, so the test's end removes what connect sets")
    monkeypatch.delenv(WORKER_NICENESS)
    joined = RecordingRay()
    connect(joined, "auto")
    assert joined.niceness == [None]  # the cluster's own setting (Ray's default: nice 15)
    started = RecordingRay()
    connect(started, None)
    assert started.niceness == ["0"]
