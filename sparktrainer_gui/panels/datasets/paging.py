"""A lazy, paged view of a version's manifest: pure Python, no Qt.

Rows are fetched a page at a time as a view asks for them; at most ``max_pages`` pages are
kept (least recently used first out), so a version of 100,000 entries is never held whole.
The owner fetches what ``wanted()`` lists and hands each answer to ``add_page``."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

PAGE = 400
MAX_PAGES = 40


class PagedEntries:
    def __init__(self, total: int = 0, page_size: int = PAGE, max_pages: int = MAX_PAGES):
        self.total = total
        self.page_size = page_size
        self.max_pages = max_pages
        self._pages: OrderedDict[int, list[Any]] = OrderedDict()
        self._asked: set[int] = set()  # pages asked for and not answered yet
        self._wanted: list[int] = []  # pages to ask for, newest last

    def page_of(self, row: int) -> int:
        return row // self.page_size

    def get(self, row: int) -> Any:
        """The entry at ``row``, or None while its page is not here (the page is then wanted)."""
        if not 0 <= row < self.total:
            return None
        page = self.page_of(row)
        entries = self._pages.get(page)
        if entries is None:
            if page not in self._asked and page not in self._wanted:
                self._wanted.append(page)
            return None
        self._pages.move_to_end(page)
        index = row - page * self.page_size
        return entries[index] if index < len(entries) else None

    def take_wanted(self, limit: int = 4) -> list[tuple[int, int]]:
        """(offset, limit) of the pages to fetch now, most recently wanted first; they count as
        asked until ``add_page`` or ``drop_asked``. Older wishes beyond ``limit`` are dropped
        (the user scrolled past them; a view asks again if it shows them)."""
        pages = list(reversed(self._wanted))[:limit]
        self._wanted.clear()
        self._asked.update(pages)
        return [(p * self.page_size, self.page_size) for p in pages]

    def has_wanted(self) -> bool:
        return bool(self._wanted)

    def add_page(self, offset: int, entries: list[Any]) -> tuple[int, int]:
        """Store a fetched page; returns the first and last row it covers."""
        page = self.page_of(offset)
        self._asked.discard(page)
        self._pages[page] = entries
        self._pages.move_to_end(page)
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)
        last = min(self.total, offset + len(entries)) - 1
        return offset, max(offset, last)

    def drop_asked(self, offset: int) -> None:
        """A fetch failed: the page may be asked for again."""
        self._asked.discard(self.page_of(offset))

    def loaded_rows(self) -> int:
        return sum(len(p) for p in self._pages.values())

    def pages(self) -> list[int]:
        return list(self._pages)
