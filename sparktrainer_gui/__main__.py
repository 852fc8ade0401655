"""``python -m sparktrainer_gui`` opens the desktop app."""

import sys

from sparktrainer_gui.app import main

raise SystemExit(main(sys.argv[1:]))
