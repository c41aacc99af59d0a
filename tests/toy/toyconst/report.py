"""The toy in the report: its facts, one table, its parameters."""

from dataclasses import dataclass

import pandas as pd

from lab.report.items import Table

RUN_TITLES = {"constant.fit": ("常数", "Constant")}


@dataclass
class ConstantFacts:
    samples: int
    estimate: float
    record: dict

    def records(self) -> dict:
        return {"constant.fit": self.record}


def analyse(runs: dict) -> ConstantFacts | None:
    run = runs.get("constant.fit")
    if run is None:
        return None
    table = pd.read_csv(run.dir / "estimate.csv")
    return ConstantFacts(int(table["samples"][0]), float(table["estimate"][0]), run.record)


def csv_tables(facts) -> dict:
    return {"constant": pd.DataFrame({"estimate": [facts.estimate]})} if facts else {}


TABLES = {
    "tab:constant": (
        lambda facts, runs, lang: Table(["estimate"], [[f"{facts.estimate:.3f}"]], [True]),
        "constant.fit",
        ("估计值。", "The estimate."),
    )
}
ORDER = ["tab:constant"]


def parameters(facts, lang: str):
    return None if facts is None else [("samples", str(facts.samples))]
