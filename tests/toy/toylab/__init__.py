from pathlib import Path

from lab.core.api import Lab

LAB = Lab.from_manifest(Path(__file__).resolve().with_name("manifest.toml"))
