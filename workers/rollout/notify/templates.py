"""Bilingual (zh/en) notification templates, kept as data (``data/rollout/notifications.yaml``).

Templates are compiled when the worker starts, in a sandbox and with strict undefined variables: a
template naming a variable the process did not send fails the job with that variable's name instead
of mailing an empty blank to the whole company.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from pydantic import Field

from workers.rollout._data import StrictCamelModel, load_yaml, validate_model
from workers.runtime.errors import PermanentError, RuleDataError


class _Text(StrictCamelModel):
    subject: str = Field(min_length=1)
    body: str = Field(min_length=1)


class _Template(StrictCamelModel):
    zh: _Text
    en: _Text


class _Document(StrictCamelModel):
    templates: dict[str, _Template] = Field(min_length=1)


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


class TemplateError(PermanentError, ValueError):
    """Rendering failed (a variable the template needs is missing): names the template and variable.
    The same variables would be missing on a retry, so it is an incident at once."""


class Templates:
    def __init__(self, compiled: dict[tuple[str, str], tuple[jinja2.Template, jinja2.Template]]) -> None:
        self._compiled = compiled

    @property
    def names(self) -> set[str]:
        return {name for name, _ in self._compiled}

    def render(self, name: str, language: str, context: dict[str, Any]) -> Message:
        try:
            subject, body = self._compiled[(name, language)]
        except KeyError:
            raise TemplateError(f"no notification template {name!r} in language {language!r} "
                                f"(known: {', '.join(sorted(self.names))})") from None
        try:
            return Message(subject=" ".join(subject.render(context).split()), body=body.render(context).strip() + "\n")
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template {name!r} ({language}): {exc.message}") from exc


def parse_templates(text: str) -> Templates:
    """Parse and compile every template; a syntax error names template, language and field."""
    document = validate_model(_Document, load_yaml(text, "notification templates"), "notification templates")
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
    compiled: dict[tuple[str, str], tuple[jinja2.Template, jinja2.Template]] = {}
    for name, template in document.templates.items():
        for language in ("zh", "en"):
            text_of: _Text = getattr(template, language)
            try:
                compiled[(name, language)] = (env.from_string(text_of.subject), env.from_string(text_of.body))
            except jinja2.TemplateSyntaxError as exc:
                raise RuleDataError(f"template syntax error: {exc.message} (line {exc.lineno})",
                                    row=f"{name}/{language}") from exc
    return Templates(compiled)
