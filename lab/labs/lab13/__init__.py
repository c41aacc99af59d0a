"""Lab 13 (PyTorch): Exercise 1 (fit f(x)) and Exercise 2 (ResNet-20 on CIFAR-10).

``manifest.toml`` names its exercises and questions; ``lab13.toml`` beside it is
the one default declaration (the repository's top-level ``lab13.toml`` links to it).
"""

from pathlib import Path

from lab.core.api import Lab

LAB = Lab.from_manifest(Path(__file__).resolve().with_name("manifest.toml"))
