"""HTML from the Jinja2 templates (the student's copies in ./templates first), then the PDF."""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from pathlib import Path

import jinja2
from markupsafe import Markup

import lab
from lab.core.api import Lab
from lab.core.atomic import write_atomic
from lab.core.errors import UserError
from lab.report.pdf_engine import PdfEngineMissing, load_weasyprint
from lab.report.wording import pct

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"
# In a wheel the templates ship inside the package; in a checkout they sit at the top.
PACKAGED_TEMPLATES = next(
    (
        folder
        for folder in (
            Path(lab.__file__).resolve().parent / "templates",
            Path(lab.__file__).resolve().parent.parent / "templates",
        )
        if folder.is_dir()
    ),
    Path(lab.__file__).resolve().parent.parent / "templates",
)


# Compiled templates, kept between builds in the system's temporary folder (Jinja checks each
# against its source's checksum, so an edited template is compiled again). Compiling the
# report's 26 templates took 0.2 s of a ~4 s re-render.
TEMPLATE_BYTECODE = jinja2.FileSystemBytecodeCache()


def css_string(value) -> Markup:
    """A CSS string literal that is safe inside <style> (for page headers built from user text)."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ").replace("\n", " ")
    return Markup(f'"{text}"')


def template_environment(extra_folders: Sequence[Path] = ()) -> jinja2.Environment:
    """./templates, then the packaged ones, then the lab's and its exercises' folders."""
    folders = [Path.cwd() / "templates", PACKAGED_TEMPLATES, *extra_folders]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=TEMPLATE_BYTECODE,
    )
    env.filters["css_string"] = css_string
    env.globals["pct"] = pct
    return env


def stylesheet() -> str:
    for folder in (Path.cwd() / "templates", PACKAGED_TEMPLATES):
        path = folder / STYLESHEET
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise UserError(f"{STYLESHEET}: stylesheet not found in ./templates or {PACKAGED_TEMPLATES}; reinstall labreport")


def template_line(error: Exception) -> tuple[str, int | None]:
    """The template file and line an error was raised from (Jinja maps its frames to template lines)."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.endswith(".j2") or frame.filename.endswith(".html"):
            return frame.filename, frame.lineno
    return TEMPLATE, None


def render_html(context: dict, env: jinja2.Environment | None = None, template_name: str = TEMPLATE) -> str:
    env = env or template_environment()
    try:
        template = env.get_template(template_name)
    except jinja2.TemplateSyntaxError as error:
        raise UserError(
            f"{error.filename or template_name}:{error.lineno}: template syntax error: {error.message}; "
            "fix the template, or delete it to use the default"
        ) from None
    except jinja2.TemplateNotFound:
        raise UserError(
            f"{template_name}: template not found in ./templates or {PACKAGED_TEMPLATES}; reinstall labreport"
        ) from None
    try:
        return template.render(**context)
    except jinja2.UndefinedError as error:
        filename, line = template_line(error)
        raise UserError(
            f"{filename}:{line}: {error.message}; the template uses a value the report does not "
            "provide: fix the template, or delete it to use the default"
        ) from None
    except jinja2.TemplateError as error:
        filename, line = template_line(error)
        raise UserError(
            f"{filename}:{line}: template error: {error}; fix the template, or delete it to use the default"
        ) from None


def check_pdf_variant(pdf_variant: str | None) -> None:
    """Before any work: a variant WeasyPrint knows (unchecked where it cannot load: no PDF is written then)."""
    try:
        load_weasyprint()
    except PdfEngineMissing:
        return
    from weasyprint.pdf import VARIANTS

    if pdf_variant and pdf_variant not in VARIANTS:
        raise UserError(
            f"--pdf-variant {pdf_variant!r} is not a PDF variant WeasyPrint knows; "
            f"choose one of {', '.join(VARIANTS)} (e.g. pdf/a-3b) or leave it out"
        )


def write_pdf(
    html: str, out: Path, pdf_variant: str | None, attachments: Sequence[tuple[str, bytes, str]] = ()
) -> None:
    """The PDF at `out`, carrying `attachments` ((name, contents, description) each);
    PdfEngineMissing (after the HTML is written) where WeasyPrint cannot load."""
    weasyprint = load_weasyprint()
    options: dict = {"pdf_variant": pdf_variant} if pdf_variant else {}
    if attachments:
        options["attachments"] = [
            weasyprint.Attachment(string=data, name=name, description=description)
            for name, data, description in attachments
        ]
    # Atomic, like every result: a killed render never leaves half a PDF to hand in.
    write_atomic(out, weasyprint.HTML(string=html, base_url=str(out.parent)).write_pdf(**options))


def lab_template_folders(manifest: Lab) -> list[Path]:
    """Where the exercises' and the lab's own templates are found, as ``EXERCISE/section.html.j2``, ``LAB/overview.html.j2``…"""
    folders = [exercise.folder.parent for exercise in manifest.loaded()]
    if manifest.folder is not None:
        folders.append(manifest.folder.parent)
    return list(dict.fromkeys(folders))
