"""Exercise 2's training step on the CPU in the forms issue 28 asked to try, side by side.

    python bench/cifar_step_variants.py [--batches 60] [--variants eager-onednn,compile,...]

Each variant trains ResNet-20 on synthetic uint8 batches of 128 (a step's time does not depend
on the pixels) in a fresh process of its own, and prints its setup time (model, and for
torch.compile the compilation, which falls in the first steps), its steady ms per batch, and
the wall time of one whole epoch (391 batches) including that setup: the number a student
waits for. The variants:

- eager-onednn: the project's default on a CPU with native bf16 (numerics.py): bf16
  activations held as oneDNN tensors, eager step, every core.
- eager-onednn-1t: the same on one thread (the thread layout: does the second core help?).
- eager-channels-last: bf16 autocast, channels-last tensors, eager.
- compile: torch.compile (Inductor, CPU) of the model, bf16 autocast, channels-last: Inductor
  fuses BatchNorm, ReLU and the residual add into the convolutions' neighbours.
- compile-max-autotune: the same with mode="max-autotune-no-cudagraphs" (tries oneDNN and
  Triton-free CPU GEMM templates; compiles longer).
- fp32: the course's precision, contiguous, eager (the same-precision reference).

Run it alone on the machine: every variant uses every core. Each compiles into an empty
Inductor cache, as a student's first build would.

Measured 2026-12-05 (Intel Xeon with AMX and avx512_bf16, 2 cores, torch 2.14.1,
`--batches 40`): eager-onednn 86.6 ms/batch (one epoch with setup 34.9 s); on one thread
126.9 ms (the second core gives 1.47x); eager-channels-last 132.0 ms; compile 108.2 ms after
36.4 s of compiling (78.2 s for the first epoch); compile-max-autotune 108.7 ms after 36.1 s.
torch.compile loses per batch as well as in compiling, so the oneDNN eager step stays
(numerics.py). On an AMD EPYC (avx512_bf16, no AMX; 2 cores, `--batches 30`): eager-onednn
110.5 ms/batch, eager-channels-last 139.1 ms, fp32 239.8 ms, compile 123.2 ms after 48.2 s.
There oneDNN's own timing (ONEDNN_VERBOSE over two steps) gives the 21 convolutions 81 ms of
the ~107 ms step: forward at 420-510 GFLOP/s, about what two Zen 4 cores issue in bf16 dot
products, the weight gradients at 300-330. Were every other op free, an epoch (391 steps and a
test pass of 2.7 s) would still take about 34 s, under 4x that machine's course loop (131-139 s).
A fused BatchNorm+ReLU for oneDNN tensors is not in PyTorch's own API (it was in the Intel
extension, which is no longer developed); Inductor's fusion is the compile rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH, EPOCH_BATCHES, WARMUP = 128, 391, 5
VARIANTS = ["eager-onednn", "eager-onednn-1t", "eager-channels-last", "compile", "compile-max-autotune", "fp32"]


def measure(variant: str, batches: int) -> dict:
    """In this process: set up `variant`, train `batches` steps after the warm-up, time both."""
    import torch
    import torch.nn.functional as F

    from lab.exercises.cifar.allocator import retain_freed_memory
    from lab.exercises.cifar.model import resnet20
    from lab.exercises.cifar.numerics import Numerics, choose_numerics

    if variant.endswith("-1t"):
        torch.set_num_threads(1)
    numerics = {
        "eager-onednn": choose_numerics("bf16", "cpu"),
        "eager-onednn-1t": choose_numerics("bf16", "cpu"),
        "eager-channels-last": Numerics("bf16", torch.bfloat16, "channels_last", grad_scaler=False),
        "compile": Numerics("bf16", torch.bfloat16, "channels_last", grad_scaler=False),
        "compile-max-autotune": Numerics("bf16", torch.bfloat16, "channels_last", grad_scaler=False),
        "fp32": choose_numerics("fp32", "cpu"),
    }[variant]
    retain_freed_memory()  # as the project's training does (allocator.py)
    started = time.perf_counter()
    model = resnet20(10, seed=0).to(memory_format=numerics.memory_format())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.0, weight_decay=5e-4)
    forward = model
    if variant.startswith("compile"):
        mode = "max-autotune-no-cudagraphs" if variant == "compile-max-autotune" else None
        forward = torch.compile(model, mode=mode)
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (BATCH, 3, 32, 32), dtype=torch.uint8, generator=generator)
    targets = torch.randint(0, 10, (BATCH,), generator=generator)

    def step():
        inputs = numerics.prepare(images, "cpu")
        with numerics.autocast("cpu"):
            loss = F.cross_entropy(forward(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(WARMUP):
        step()
    setup = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(batches):
        step()
    per_batch = (time.perf_counter() - started) / batches
    return {
        "variant": variant,
        "threads": torch.get_num_threads(),
        "setup_s": setup,
        "ms_per_batch": per_batch * 1e3,
        "epoch_s_with_setup": setup + per_batch * (EPOCH_BATCHES - WARMUP),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process's variant
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.batches)))
        return
    from lab.core.environment import cpu_model

    print(f"CPU: {cpu_model()}; batch {BATCH}, {args.batches} timed batches after {WARMUP} warm-up steps")
    for variant in args.variants.split(","):
        with tempfile.TemporaryDirectory() as cold:  # a first build compiles from nothing
            done = subprocess.run(
                [sys.executable, __file__, "--one", variant, "--batches", str(args.batches)],
                capture_output=True,
                text=True,
                env={**os.environ, "TORCHINDUCTOR_CACHE_DIR": cold},
            )
        if done.returncode != 0:
            print(f"{variant:22s} failed: {done.stderr.strip().splitlines()[-1] if done.stderr else done.returncode}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{r['variant']:22s} {r['threads']} thread(s)  setup {r['setup_s']:6.1f} s  "
            f"{r['ms_per_batch']:6.1f} ms/batch  one epoch with setup {r['epoch_s_with_setup']:6.1f} s"
        )


if __name__ == "__main__":
    main()
