"""The ``sparktrainer`` command: no arguments or ``gui`` open the desktop app,
anything else goes to the CLI. Qt is imported only for the GUI, so the CLI starts fast."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] == "gui":
        from sparktrainer_gui.app import main as gui_main

        return gui_main(args[1:])
    from trainer_runtime.cli.main import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
