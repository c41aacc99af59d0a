"""Lab 13 (PyTorch): Exercise 1 (fit f(x)) and Exercise 2 (ResNet-20 on CIFAR-10).

``lab13.toml`` beside this file is the one default declaration; the top-level
``lab13.toml`` of the repository is a link to it.
"""
from pathlib import Path

from lab.core.api import Lab

LAB = Lab(
    name="lab13",
    title={"zh": "实验 13：PyTorch 实验报告", "en": "Lab 13: PyTorch — Lab Report"},
    exercises=["fit", "cifar"],
    declaration=Path(__file__).resolve().with_name("lab13.toml"),
    questions={"1A": "fit.epochs", "1B": "fit.lr", "1C": "fit.custom",
               "2A": "cifar", "2B": "cifar", "2C": "cifar"},
)
