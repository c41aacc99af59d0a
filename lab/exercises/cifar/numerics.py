"""How Exercise 2's tensors are computed: exact fp32, or the fastest bf16/fp16
path the device allows, and the activation layout that goes with it."""

import platform
import re
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch

from lab.core.errors import UserError
from lab.exercises.cifar import data as cifar_data


@dataclass(frozen=True)
class Numerics:
    """How tensors are computed: "fp32" changes nothing; the rest trade exact
    fp32 arithmetic for speed."""

    name: str  # "fp32" | "bf16" | "fp16"
    autocast_dtype: torch.dtype | None  # mixed precision by autocast (CUDA)
    layout: str  # activations: "contiguous", "channels_last" or "onednn"
    grad_scaler: bool  # fp16 needs loss scaling; bf16 has fp32's range

    @property
    def label(self) -> str:
        return f"{self.name}, {self.layout}"

    def autocast(self, device: str, cache: bool = True):
        """Mixed precision where chosen; a captured CUDA graph needs `cache=False`
        (autocast's cache of cast weights must not outlive the capture)."""
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=device, dtype=self.autocast_dtype, cache_enabled=cache)

    def backend_flags(self, device: str):
        """On CUDA: deterministic cuDNN algorithms (a resumed run must repeat the
        numbers of an uninterrupted one), and no TF32 when fp32 must mean fp32."""
        if device == "cuda":
            return torch.backends.cudnn.flags(
                enabled=True, benchmark=False, deterministic=True, allow_tf32=self.name != "fp32"
            )
        return nullcontext()

    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.layout == "channels_last" else torch.contiguous_format

    def prepare(self, images_uint8: torch.Tensor, device: str) -> torch.Tensor:
        """A normalised batch, in this layout, from uint8 images."""
        images = images_uint8.to(device, non_blocking=True)
        if self.layout == "onednn":  # bf16 activations without autocast: see choose_numerics
            return cifar_data.normalize(images, dtype=torch.bfloat16).to_mkldnn()
        return cifar_data.normalize(images, channels_last=self.layout == "channels_last")


def cpu_supports_bf16() -> bool:
    """oneDNN can run bf16 here (natively or emulated on older AVX-512)."""
    if not torch.backends.mkldnn.is_available():
        return False
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(check()) if check is not None else False


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: only then is bf16 faster than fp32 on a CPU."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: do not guess
        return False
    return cpu_supports_bf16() and re.search(r"\b(avx512_bf16|amx_bf16)\b", cpuinfo) is not None


def mps_autocast_dtypes() -> list[torch.dtype]:
    """The reduced precisions this torch's autocast accepts on an Apple GPU, best first.

    bf16 needs macOS 14; torch.autocast("mps", dtype) warns and disables itself for a dtype
    this torch does not support there (torch 2.5 accepts fp16 only). Unmeasured: no Mac here.
    """
    macos = tuple(int(part) for part in (platform.mac_ver()[0] or "0").split(".")[:1])
    wanted = [torch.bfloat16, torch.float16] if macos >= (14,) else [torch.float16]
    accepted = []
    for dtype in wanted:
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            try:
                torch.autocast(device_type="mps", dtype=dtype)
            except (RuntimeError, AssertionError):
                continue
        if not any("autocast" in str(warning.message).lower() for warning in said):
            accepted.append(dtype)
    return accepted


def mps_numerics(precision: str) -> Numerics:
    """An Apple GPU: mixed precision in what its autocast accepts (bf16 before fp16, which
    needs loss scaling), else fp32; the layout stays contiguous (MPS kernels' own)."""
    dtypes = [] if precision == "fp32" else mps_autocast_dtypes()
    if precision == "bf16" and torch.bfloat16 not in dtypes:
        raise UserError(
            "cifar params.precision = 'bf16' but this torch's MPS autocast has no bf16 here (it needs macOS 14); "
            "set precision to 'auto' or 'fp32'"
        )
    if not dtypes:
        return Numerics("fp32", None, "contiguous", grad_scaler=False)
    dtype = dtypes[0]
    return Numerics(
        "bf16" if dtype == torch.bfloat16 else "fp16", dtype, "contiguous", grad_scaler=dtype == torch.float16
    )


def choose_numerics(precision: str, device: str) -> Numerics:
    """The fastest numerics `precision` allows on `device`.

    Measured on a 2-core AVX512-BF16 CPU, per training batch of 128: course
    loop (fp32, contiguous) 299-331 ms; channels_last alone 234 ms; bf16
    autocast + channels_last 132-147 ms; bf16 activations held as oneDNN
    tensors 117 ms against 133 ms for autocast in the same process. The
    oneDNN layout (16 channels to a block) makes BatchNorm and ReLU about
    twice as fast and saves the layout conversions around every convolution;
    the weights stay fp32 and are rounded to bf16 per convolution, as autocast
    does. Tried and dropped as no better than the noise: torch.compile (12%
    less CPU time on one thread, none in wall time on two, plus 30-150 s of
    compiling), bf16 inputs, in-place ReLU/add, foreach and fused SGD, and
    for the test pass larger batches, inference_mode and BatchNorm folded
    into the convolutions.
    """
    if precision not in ("auto", "fp32", "bf16"):
        raise UserError(
            f"cifar params.precision = {precision!r} is not one of 'auto', 'fp32', 'bf16'; pick one of those"
        )
    if device == "mps":
        return mps_numerics(precision)
    if precision == "fp32":
        return Numerics("fp32", None, "contiguous", grad_scaler=False)
    if device == "cuda":
        if precision == "bf16" or torch.cuda.is_bf16_supported():
            return Numerics("bf16", torch.bfloat16, "channels_last", grad_scaler=False)
        return Numerics("fp16", torch.float16, "channels_last", grad_scaler=True)
    if cpu_has_native_bf16() or (precision == "bf16" and cpu_supports_bf16()):
        return Numerics("bf16", None, "onednn", grad_scaler=False)
    if precision == "bf16":
        raise UserError(
            "cifar params.precision = 'bf16' but this CPU has no bf16 support; set precision to 'auto' or 'fp32'"
        )
    return Numerics("fp32", None, "channels_last", grad_scaler=False)
