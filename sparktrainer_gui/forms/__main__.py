"""``python -m sparktrainer_gui.forms [--check]``: regenerate (or check) the forms from ui/*.ui."""

from __future__ import annotations

import sys

from sparktrainer_gui.forms import generate, stale_forms

if "--check" in sys.argv[1:]:
    stale = stale_forms()
    for path in stale:
        print(f"out of date: {path} (run python -m sparktrainer_gui.forms)", file=sys.stderr)
    sys.exit(1 if stale else 0)
for path in generate():
    print(f"wrote {path}")
