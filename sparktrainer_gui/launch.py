"""The ``sparktrainer`` command: no arguments or ``gui`` open the desktop app,
anything else goes to the CLI. Qt is imported only for the GUI, so the CLI starts fast."""

from __future__ import annotations

import sys


def _run_module_when_frozen(args: list[str]) -> int | None:
    """In a PyInstaller bundle ``sys.executable`` is this program, and the runtime starts its
    daemon and workers as ``<exe> [-u] -m MODULE ARGS``: run that module as Python would."""
    if not getattr(sys, "frozen", False):
        return None
    rest = args[1:] if args[:1] == ["-u"] else args
    if rest[:1] != ["-m"] or len(rest) < 2:
        return None
    import runpy

    sys.argv = [rest[1], *rest[2:]]
    runpy.run_module(rest[1], run_name="__main__", alter_sys=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    frozen = _run_module_when_frozen(args)
    if frozen is not None:
        return frozen
    if not args or args[0] == "gui":
        from sparktrainer_gui.app import main as gui_main

        return gui_main(args[1:])
    from trainer_runtime.cli.main import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
