"""A version on the command line is a number from 1 or 'latest'; anything else is refused by the
argument parser with a sentence and exit code 2 (it was a ValueError traceback)."""

from __future__ import annotations

import pytest

from trainer_runtime.cli.main import build_parser


@pytest.mark.parametrize(
    "argv",
    [
        ["labels", "export", "pets", "--version", "abc", "--format", "coco", "--out", "/tmp/out"],
        ["datasets", "verify", "pets", "--version", "0"],
        ["datasets", "quality", "pets", "--version", "-1"],
        ["datasets", "diff", "pets", "1", "two"],
    ],
)
def test_a_bad_version_is_refused_by_the_parser(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(argv)
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "is not a version: give a number (1, 2, ...) or 'latest'" in err
    assert "Traceback" not in err


def test_good_versions_parse() -> None:
    args = build_parser().parse_args(["datasets", "diff", "pets", "1", "latest"])
    assert (args.a, args.b) == (1, "latest")
