"""The sample grid's paging and drop rules, without a QApplication."""

from __future__ import annotations

from pathlib import Path

from sparktrainer_gui.panels.datasets import drops
from sparktrainer_gui.panels.datasets.paging import PagedEntries


def page(offset: int, n: int) -> list[dict]:
    return [{"path": f"f{i:06d}.png", "sha256": "x", "size": 1} for i in range(offset, offset + n)]


def test_rows_are_fetched_a_page_at_a_time_as_a_view_asks():
    p = PagedEntries(total=100_000, page_size=400, max_pages=10)
    assert p.get(0) is None and p.get(399) is None and p.get(400) is None
    assert p.take_wanted() == [(400, 400), (0, 400)], "newest wish first, one fetch per page"
    assert p.get(1) is None and not p.has_wanted(), "an asked page is not asked again"
    first, last = p.add_page(0, page(0, 400))
    assert (first, last) == (0, 399)
    assert p.get(399)["path"] == "f000399.png"
    assert p.get(100_000) is None and not p.has_wanted(), "past the end: nothing to fetch"


def test_scrolling_far_keeps_only_the_last_pages():
    p = PagedEntries(total=100_000, page_size=400, max_pages=10)
    for start in range(0, 100_000, 400):
        assert p.get(start) is None
        for offset, limit in p.take_wanted():
            p.add_page(offset, page(offset, min(limit, 100_000 - offset)))
    assert p.loaded_rows() == 10 * 400, "never the whole manifest"
    assert p.pages() == list(range(240, 250))
    assert p.get(0) is None and p.take_wanted() == [(0, 400)], "a page dropped is fetched again"


def test_a_fast_scroll_drops_old_wishes_and_a_failed_fetch_may_retry():
    p = PagedEntries(total=10_000, page_size=100)
    for row in range(0, 10_000, 100):
        p.get(row)
    assert p.take_wanted(limit=3) == [(9900, 100), (9800, 100), (9700, 100)]
    assert not p.has_wanted()
    p.drop_asked(9900)
    p.get(9950)
    assert p.take_wanted() == [(9900, 100)]
    p.add_page(9900, page(9900, 100))
    assert p.get(9999)["path"] == "f009999.png"


def test_drops_refuse_what_cannot_be_a_dataset(tmp_path: Path):
    folder = tmp_path / "My Photos (2024)"
    folder.mkdir()
    (tmp_path / "data.csv").write_text("a\n1\n")
    (tmp_path / "a.docx").write_bytes(b"x")
    assert drops.choose([folder]) == (folder, None)
    assert drops.choose([tmp_path / "data.csv"])[0] == tmp_path / "data.csv"
    assert "a.docx is not a dataset" in str(drops.choose([tmp_path / "a.docx"])[1])
    assert "does not exist" in str(drops.choose([tmp_path / "gone"])[1])
    assert "2 items were dropped" in str(drops.choose([folder, tmp_path / "data.csv"])[1])
    assert "nothing to import" in str(drops.choose([])[1])
    assert drops.default_name(folder) == "My-Photos-2024"
    assert drops.default_name(tmp_path / "set.tar.gz") == "set"
    assert drops.default_name(tmp_path / "...") == "dataset"
