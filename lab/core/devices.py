"""Where runs compute: an NVIDIA GPU (cuda), an Apple GPU (mps) or the CPU.

`auto` takes the first that is here, in that order. Which are here is asked of
torch through `available()`, which the tests replace (no test machine has an
Apple GPU, and most have no CUDA one).
"""

from __future__ import annotations

from collections.abc import Callable

from lab.core.errors import UserError

CHOICES = ("auto", "cpu", "cuda", "mps")
ACCELERATORS = ("cuda", "mps")  # auto's order of preference, before the CPU
MISSING = {
    "cuda": "--device cuda: no CUDA device is available here; use --device cpu or auto",
    "mps": "--device mps: no Apple GPU (MPS) is available here (it needs a Mac with Apple silicon or an AMD GPU, "
    "macOS 12.3 or later and a torch built with MPS); use --device cpu or auto",
}


def available() -> dict[str, bool]:
    """Which accelerators torch can use here."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    return {"cuda": torch.cuda.is_available(), "mps": bool(mps is not None and mps.is_available())}


def resolve(requested: str, here: Callable[[], dict[str, bool]] = available) -> str:
    """The device a run uses for `--device requested`: auto is cuda, then mps, then cpu."""
    if requested not in CHOICES:
        raise UserError(f"--device {requested!r}: choose {', '.join(CHOICES[:-1])} or {CHOICES[-1]}")
    if requested == "cpu":
        return "cpu"
    found = here()
    if requested == "auto":
        return next((device for device in ACCELERATORS if found.get(device)), "cpu")
    if not found.get(requested):
        raise UserError(MISSING[requested])
    return requested


def usable(recorded: str | None, here: Callable[[], dict[str, bool]] = available) -> str:
    """The device a stored run trained on if it is here too, else the CPU (to re-check its results)."""
    return recorded if recorded in ACCELERATORS and here().get(recorded) else "cpu"


def name(device: str) -> str:
    """What the run record and the report call the device."""
    from lab.core.environment import cpu_model

    if device == "cuda":
        import torch

        return torch.cuda.get_device_name(0)
    if device == "mps":
        return f"{cpu_model()} GPU (MPS)"
    return cpu_model()
