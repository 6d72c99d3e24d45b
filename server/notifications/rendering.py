"""E-mail and SMS text from the Jinja templates in server/templates/email.

A kind `booking_confirmed` has `booking_confirmed.subject.txt`, `.txt` and `.html`; an SMS kind
has `{kind}.sms.txt`. Rendering is strict: a value the template needs and the context lacks is
an error when the message is queued, not a blank in someone's inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from server.infra.paths import TEMPLATES_DIR

EMAIL_TEMPLATES_DIR = TEMPLATES_DIR / "email"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(EMAIL_TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        # Templates change with a deploy, not while serving: no stat() of each file per render.
        auto_reload=False,
    )


def render_email(kind: str, context: dict[str, Any]) -> RenderedEmail:
    """The subject (one line), plain text and HTML of a `kind` e-mail."""
    environment = _environment()
    subject = environment.get_template(f"{kind}.subject.txt").render(context)
    return RenderedEmail(
        subject=" ".join(subject.split()),
        text=environment.get_template(f"{kind}.txt").render(context),
        html=environment.get_template(f"{kind}.html").render(context),
    )


def render_sms(kind: str, context: dict[str, Any]) -> str:
    """A text message's body, on one line."""
    body = _environment().get_template(f"{kind}.sms.txt").render(context)
    return " ".join(body.split())
