"""The toy in the report: its facts, one table, its parameters, declared as an ExerciseReport."""

from dataclasses import dataclass

import pandas as pd

from lab.core.exercise_report import ExerciseReport, Item
from lab.report.items import Table


@dataclass
class ConstantFacts:
    samples: int
    estimate: float


def estimate_table(facts: ConstantFacts, lang: str) -> Table:
    return Table(["estimate"], [[f"{facts.estimate:.3f}"]], [True])


class ConstantReport(ExerciseReport):
    items = (Item("tab:constant", "estimate_caption", ("constant.fit",), estimate_table),)
    run_titles = {"constant.fit": "run_title"}

    def analyse(self, runs: dict) -> ConstantFacts | None:
        run = runs.get("constant.fit")
        if run is None:
            return None
        table = pd.read_csv(run.dir / "estimate.csv")
        return ConstantFacts(int(table["samples"][0]), float(table["estimate"][0]))

    def csv_tables(self, facts) -> dict:
        return {"constant": pd.DataFrame({"estimate": [facts.estimate]})} if facts else {}

    def parameters(self, facts, lang: str):
        return None if facts is None else [("samples", str(facts.samples))]


REPORT = ConstantReport()
