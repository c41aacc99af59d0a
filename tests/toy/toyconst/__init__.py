"""A toy exercise: estimate a constant from noisy samples (the plug-in test's exercise)."""

from lab.core.api import Exercise
from lab.core.schema import integer, number


class Constant(Exercise):
    name = "constant"
    runs = {"constant.fit": "toyconst.train:run"}
    report = "toyconst.report"
    schema = {"value": number(-1e6, 1e6), "samples": integer(2, 10_000)}

    def scale_down(self, section: dict) -> dict:
        return {**section, "samples": min(section["samples"], 10)}

    def params(self, run: str, section: dict, quick: bool) -> dict:
        return {"value": section["value"], "samples": section["samples"], "quick": quick}


EXERCISE = Constant()
