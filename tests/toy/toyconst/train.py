"""The toy's run: the mean of noisy samples around the declared value."""

import random

import pandas as pd


def run(ctx) -> dict:
    rng = random.Random(0)
    samples = [ctx.params["value"] + rng.uniform(-0.01, 0.01) for _ in range(ctx.params["samples"])]
    ctx.progress.start(1, "averaging")
    estimate = sum(samples) / len(samples)
    ctx.write_table("estimate.csv", pd.DataFrame({"samples": [len(samples)], "estimate": [estimate]}))
    ctx.progress.advance()
    return {"estimate": estimate}
