"""The embeddable widget stays small: it loads on other people's pages."""

from __future__ import annotations

import gzip

from server.infra.paths import STATIC_DIR

WIDGET_BUDGET_GZIPPED_BYTES = 12 * 1024


def test_the_widget_script_is_at_most_12_kb_gzipped() -> None:
    source = (STATIC_DIR / "widget.js").read_bytes()
    size = len(gzip.compress(source, compresslevel=9))
    assert size <= WIDGET_BUDGET_GZIPPED_BYTES, f"widget.js is {size} bytes gzipped"


def test_the_widget_script_uses_no_module_syntax_so_any_page_can_load_it_classically() -> None:
    # A classic <script src> is what the snippet uses; `import`/`export` would be a SyntaxError.
    source = (STATIC_DIR / "widget.js").read_text()
    assert "\nimport " not in source
    assert "\nexport " not in source
