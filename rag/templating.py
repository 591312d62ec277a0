"""Jinja2 environments for the web pages and the evaluation report: values escaped on output."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from jinja2.ext import Extension
from markupsafe import Markup

# A line break beside a tag or a template tag is layout only: "<p>\n  <a>" renders as "<p><a>".
_LAYOUT_BREAK = re.compile(r"(?<=[>}])\n\s*|\n\s*(?=[<{])")


class JoinLines(Extension):
    """Templates are laid out on many lines; the HTML they render stays on one."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _LAYOUT_BREAK.sub("", source)


def template_environment(
    folder: Path, escape: Callable[[str], str], **filters: Callable[[str], str]
) -> Environment:
    """The templates in `folder`; `{{ value }}` is `escape(value)` unless it is already Markup.

    Each extra filter escapes its own way (e.g. for an attribute value) and marks the result safe.
    """

    def finalize(value: Any) -> Any:
        return value if isinstance(value, Markup) else Markup(escape(str(value)))

    environment = Environment(
        loader=FileSystemLoader(folder),
        autoescape=True,  # a safety net: finalize already escaped everything not marked safe
        finalize=finalize,
        extensions=[JoinLines],
    )
    for name, escaper in filters.items():
        environment.filters[name] = _marked_safe(escaper)
    return environment


def _marked_safe(escaper: Callable[[str], str]) -> Callable[[Any], Markup]:
    return lambda value: Markup(escaper(str(value)))
