"""Short UI strings (captions, table headers, labels) from a message catalogue per language.

Each package that shows text keeps ``messages/<lang>.toml`` beside its code:
flat ``key = "text"`` pairs, with ``{name}`` placeholders filled by `str.format`.
Why not gettext: for a hundred strings in two languages, a TOML file per language
is read as it is written (no .po -> .mo compile step, no extraction tooling), and
a teacher can fix a caption in it directly. Report prose lives in templates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from markupsafe import Markup, escape

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@functools.cache
def catalogue(folder: Path, lang: str) -> dict[str, str]:
    path = folder / "messages" / f"{lang}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


class Messages:
    """The catalogue of one package: ``msg(lang, key, **values)``."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder).resolve()

    def __call__(self, lang: str, key: str, **values) -> str:
        try:
            text = catalogue(self.folder, lang)[key]
        except KeyError:
            raise KeyError(f"{self.folder / 'messages' / (lang + '.toml')}: no message {key!r}") from None
        return text.format(**values) if values else text

    def get(self, lang: str, key: str, default: str) -> str:
        """The message, or ``default`` when the catalogue has none (a word only some values have)."""
        return catalogue(self.folder, lang).get(key, default)

    def bound(self, lang: str) -> Callable[..., str]:
        """``text(key, **values)`` in one language: what templates call as text("…"). A value that
        is already HTML (a ref(…) link) stays HTML; the rest of the message is escaped."""

        def text(key: str, **values) -> str:
            if any(isinstance(value, Markup) for value in values.values()):
                return escape(self(lang, key)).format(**values)
            return self(lang, key, **values)

        return text
