"""CIFAR-10's class names in the report's language (figures and answer templates)."""

from __future__ import annotations

from pathlib import Path

from lab.report.messages import Messages

msg = Messages(Path(__file__).parent)


def class_name(name: str, lang: str) -> str:
    """A CIFAR-10 class in the report's language (the catalogue's class_<name>, else the name)."""
    try:
        return msg(lang, f"class_{name}")
    except KeyError:
        return name
