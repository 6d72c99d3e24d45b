"""Where the static files and SQL migrations are, in a checkout or in an installed wheel."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent
_CHECKOUT = _PACKAGE.parent
_BUNDLED = _PACKAGE / "_bundled"


def _find(name: str) -> Path:
    # A checkout (or an editable install) has the folder beside the package; a wheel bundles it.
    checkout = _CHECKOUT / name
    return checkout if checkout.is_dir() else _BUNDLED / name


STATIC_DIR = _find("static")
SQL_DIR = _find("sql")
TEMPLATES_DIR = _PACKAGE / "templates"
HYPERCORN_TOML = _CHECKOUT / "hypercorn.toml"
if not HYPERCORN_TOML.is_file():
    HYPERCORN_TOML = _BUNDLED / "hypercorn.toml"
