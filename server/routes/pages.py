"""Placeholder: filled in by its own change."""

from quart import Blueprint

blueprint = Blueprint("pages", __name__)
