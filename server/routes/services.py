"""Placeholder: filled in by its own change."""

from quart import Blueprint

blueprint = Blueprint("services", __name__)
