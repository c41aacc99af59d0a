"""Carrying out runs on a Ray cluster: each run is one Ray task; this process keeps the store.

A task runs in a scratch folder on whichever node Ray picks, so no shared file
system is needed: it starts from the files of the run this process already has
(a partial run's checkpoint), sends each checkpoint home as soon as it is
written, and returns the run's files, which this process writes into the store
atomically, the record last. A node without the run's input files reads this
process's copy (node_inputs.py). A worker or node that dies mid-run is Ray's to
retry (`max_retries`); the retry starts from the last checkpoint that reached
home. Progress calls travel through the same mailbox (a Ray actor on this node)
to this process's progress display.

Ray is optional: ``pip install -e '.[ray]'``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from lab.core.atomic import write_atomic
from lab.core.errors import UserError
from lab.core.executor import Outcome, execute
from lab.core.matrix import RunSpec
from lab.core.node_inputs import on_this_node, pack_inputs
from lab.core.progress import Reporter
from lab.core.store import RECORD, Store
from lab.core.workers import RelayedTask, replay

INSTALL_HINT = (
    "--executor ray: Ray is not installed here; install it with: pip install -e '.[ray]' (or pip install ray)"
)
POLL_S = 0.1
RETRIES = 3  # a dead worker or node: Ray runs the task again, from the last checkpoint home
ENV_PREFIX = "LABREPORT_"  # settings and fault hooks the workers see as this process does
# Ray starts its workers at nice 15, so on a cluster this command starts here any other busy
# process starves the runs (a 10-epoch run took 1080 s instead of 575 s beside a test suite);
# the local executor's runs keep the user's priority, and so do these.
WORKER_NICENESS = "RAY_worker_niceness"
RunFiles = dict[str, bytes]  # path inside the run folder -> contents


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return ray


# --- the driver's side ----------------------------------------------------------------


class Ray:
    """Each run a Ray task on the cluster at --address (or one started here for the command)."""

    takes_address = True

    def check(self, device: str, address: str | None) -> None:
        import_ray()

    def run(self, store: Store, specs: list[RunSpec], device: str, reporter: Reporter, address=None) -> list[Outcome]:
        return run_on_ray(store, specs, device, reporter, address) if specs else []


RAY = Ray()


def run_on_ray(
    store: Store, specs: list[RunSpec], device: str, reporter: Reporter, address: str | None
) -> list[Outcome]:
    """Run `specs` as Ray tasks (device: auto, cpu or cuda, decided by the cluster's resources)."""
    ray = import_ray()
    connect(ray, address)
    device = cluster_device(ray, device)
    mailbox = start_mailbox(
        ray, {(spec.name, spec.key): run_files(store.run_dir(spec.name, spec.key)) for spec in specs}
    )
    task = ray.remote(max_retries=RETRIES, max_calls=1)(run_remotely)  # max_calls: a fresh process per run
    packed: dict = {}
    waiting = {
        task.options(**resources(ray, spec, device)).remote(
            spec, device_of(spec, device), mailbox, pack_inputs(spec.options, spec.inputs, ray.put, packed)
        ): spec
        for spec in specs
    }
    outcomes: dict[tuple[str, str], Outcome] = {}
    user_errors: list[UserError] = []
    with reporter.session(), contextlib.ExitStack() as open_tasks:
        tasks: dict[str, object] = {}
        try:
            while waiting:
                ready, _ = ray.wait(list(waiting), num_returns=len(waiting), timeout=POLL_S)
                deliver(store, ray.get(mailbox.drain.remote()), tasks, open_tasks, reporter)
                for ref in ready:
                    spec = waiting.pop(ref)
                    try:
                        outcomes[spec.name, spec.key] = collect(ray, store, spec, ref)
                    except UserError as error:  # the other runs go on: what they compute is kept
                        user_errors.append(error)
        except KeyboardInterrupt:
            for ref in waiting:
                ray.cancel(ref)
            deliver(store, ray.get(mailbox.drain.remote()), tasks, open_tasks, reporter)
            raise
    if user_errors:
        raise user_errors[0]
    return [outcomes[spec.name, spec.key] for spec in specs]


def device_of(spec: RunSpec, device: str) -> str:
    """A small side-by-side run asks for no GPU, and Ray hides the GPUs from such a task: it runs on the CPU."""
    return "cpu" if spec.side_by_side else device


def connect(ray, address: str | None) -> None:
    """Join the cluster at `address` ("auto": the one `ray start --head` made here), or start one here."""
    env = {name: value for name, value in os.environ.items() if name.startswith(ENV_PREFIX)}
    runtime_env = {"env_vars": env, "py_modules": [str(Path(__file__).resolve().parents[1])]}
    options: dict[str, Any] = {"address": address} if address else {"include_dashboard": False}
    if not address:
        os.environ.setdefault(WORKER_NICENESS, "0")
    try:
        ray.init(**options, runtime_env=runtime_env, log_to_driver=True, ignore_reinit_error=True)
    except ConnectionError as error:
        raise UserError(
            f"--address {address}: no Ray cluster answers there ({error}); start one with `ray start --head` "
            "or give the head's address"
        ) from None


def cluster_device(ray, requested: str) -> str:
    gpus = ray.cluster_resources().get("GPU", 0)
    if requested == "cuda" and not gpus:
        raise UserError("--device cuda: the Ray cluster has no GPU; use --device cpu or auto")
    if requested == "mps":
        raise UserError("--device mps: an Apple GPU computes only here; use --executor local, or cpu or cuda on Ray")
    if requested not in ("auto", "cpu", "cuda"):
        raise UserError(f"--device {requested!r}: choose auto, cpu or cuda")
    return "cuda" if requested != "cpu" and gpus else "cpu"


def resources(ray, spec: RunSpec, device: str) -> dict:
    """What a run asks of the cluster: one core for a small side-by-side run, a GPU for a
    long one when there are GPUs, else every core of the smallest node (so it fits anywhere).

    With the cores goes that node's memory per core: Ray lends a task's CPUs to other
    tasks while it blocks in ray.get (as a run does while its checkpoint travels home),
    which started a second long run on the same two cores; it never lends memory."""
    if device == "cuda" and not spec.side_by_side:
        return {"num_cpus": 1, "num_gpus": 1}
    nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive") and node["Resources"].get("CPU")]
    smallest = min(nodes, key=lambda node: node["CPU"])
    cores = 1 if spec.side_by_side else max(1, int(smallest["CPU"]))
    return {"num_cpus": cores, "memory": int(smallest.get("memory", 0) * cores / smallest["CPU"])}


def start_mailbox(ray, files: dict[tuple[str, str], RunFiles]):
    """The actor runs and this process talk through, placed on this node (it holds the latest checkpoints)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    return ray.remote(num_cpus=0)(Mailbox).options(scheduling_strategy=here).remote(files)


def deliver(store: Store, events: list[tuple], tasks: dict, open_tasks, reporter: Reporter) -> None:
    """Write the files the runs sent home; replay their progress here."""
    for event in events:
        if event[0] == "file":
            _, name, key, relative, data = event
            store.put_file(name, key, relative, data)
        else:
            _, label, method, args = event
            replay(label, method, args, tasks, open_tasks, reporter)


def collect(ray, store: Store, spec: RunSpec, ref) -> Outcome:
    """A finished task's outcome; its files go into the store, the record last."""
    try:
        outcome, files = ray.get(ref)
    except ray.exceptions.RayTaskError as error:
        if isinstance(error.cause, UserError):
            raise error.cause from None
        return Outcome(spec, "failed", 0.0, f"{type(error.cause).__name__}: {error.cause}")
    except ray.exceptions.RayError as error:  # the worker died on every try
        return Outcome(spec, "failed", 0.0, f"{type(error).__name__}: {str(error).splitlines()[0]}")
    for relative, data in sorted(files.items(), key=lambda item: item[0] == RECORD):
        store.put_file(spec.name, spec.key, relative, data)
    return outcome


def run_files(folder: Path) -> RunFiles:
    """Every file of a run folder (a partial run's record and checkpoint), by relative path."""
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class Mailbox:
    """Between the runs and the driver: the newest files of each run, and the events not yet delivered."""

    def __init__(self, files: dict[tuple[str, str], RunFiles]):
        self.files = files
        self.events: list[tuple] = []

    def starting_files(self, name: str, key: str) -> RunFiles:
        return self.files.get((name, key), {})

    def send_file(self, name: str, key: str, relative: str, data: bytes) -> None:
        self.files.setdefault((name, key), {})[relative] = data
        self.events.append(("file", name, key, relative, data))

    def progress(self, label: str, method: str, args: tuple) -> None:
        self.events.append(("progress", label, method, args))

    def drain(self) -> list[tuple]:
        events, self.events = self.events, []
        return events


# --- the worker's side ----------------------------------------------------------------


def run_remotely(spec: RunSpec, device: str, mailbox, shipped: dict) -> tuple[Outcome, RunFiles]:
    """One run in a scratch folder on this node, reading the driver's copy of each
    input file this node lacks (`shipped`): (its outcome, its files)."""
    import ray

    options, notes = on_this_node(spec.options, shipped, spec.node_folders, ray.get)
    for note in notes:
        MailboxTask(spec.name, mailbox).log(note)
    spec = replace(spec, options=options)
    with tempfile.TemporaryDirectory(prefix="labreport-run-") as scratch:
        store = SendingStore(scratch, mailbox)
        folder = store.run_dir(spec.name, spec.key)
        for relative, data in ray.get(mailbox.starting_files.remote(spec.name, spec.key)).items():
            write_atomic(folder / relative, data)
        outcome = execute(store, spec, device, MailboxReporter(mailbox), on_saved=store.sender(spec))
        return outcome, run_files(folder)


class SendingStore(Store):
    """A scratch store that sends each unfinished record and each checkpoint home as written
    (waiting until it got there: a run killed just after has its checkpoint safe)."""

    def __init__(self, root: str, mailbox):
        super().__init__(root)
        self.mailbox = mailbox

    def write_record(self, name: str, key: str, record: dict) -> None:
        super().write_record(name, key, record)
        if record.get("status") == "partial":  # a finished record comes home after the run's files
            self.send(name, key, self.run_dir(name, key) / RECORD)

    def send(self, name: str, key: str, path: Path) -> None:
        import ray

        relative = str(path.relative_to(self.run_dir(name, key)))
        ray.get(self.mailbox.send_file.remote(name, key, relative, path.read_bytes()))

    def sender(self, spec: RunSpec):
        return lambda path: self.send(spec.name, spec.key, path)


class MailboxTask(RelayedTask):
    def __init__(self, label: str, mailbox):
        super().__init__(label)
        self.mailbox = mailbox

    def _send(self, method: str, *args) -> None:
        self.mailbox.progress.remote(self.label, method, args)


class MailboxReporter:
    def __init__(self, mailbox):
        self.mailbox = mailbox

    @contextlib.contextmanager
    def task(self, label: str) -> Iterator[MailboxTask]:
        yield MailboxTask(label, self.mailbox)
