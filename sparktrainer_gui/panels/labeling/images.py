"""Image decoding off the main thread: ``QImageReader`` in a ``QThreadPool``, a small LRU
cache, and prefetch. Large images are decoded downscaled to what the view shows
(``setScaledSize``), and a zoomed-in view asks for just its visible region at full detail
(``setClipRect``), so an 8,000×8,000 picture never sits in memory at full size."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, QRect, QRunnable, QSize, QThreadPool, Signal, Slot
from PySide6.QtGui import QImage, QImageReader

OVERVIEW_SIDE = 2048  # the longest side of the whole-image decode
CACHE_IMAGES = 8


def scaled_size(w: int, h: int, side: int) -> tuple[int, int]:
    """``(w, h)`` shrunk (never grown) so the longest side is at most ``side``."""
    if w <= 0 or h <= 0 or max(w, h) <= side:
        return w, h
    f = side / max(w, h)
    return max(1, round(w * f)), max(1, round(h * f))


class _Signals(QObject):
    done = Signal(object, QImage, str, tuple)  # key, image (null on failure), reason, full size


class _Decode(QRunnable):
    def __init__(self, key: tuple, path: str, side: int, clip: tuple[int, int, int, int] | None,
                 signals: _Signals) -> None:  # fmt: skip
        super().__init__()
        self.key, self.path, self.side, self.clip, self.signals = key, path, side, clip, signals

    def run(self) -> None:
        reader = QImageReader(self.path)
        reader.setAutoTransform(True)
        size = reader.size()
        if not size.isValid():
            self.signals.done.emit(self.key, QImage(), self._reason(reader), (0, 0))
            return
        full = (size.width(), size.height())
        if self.clip is not None:
            x, y, w, h = self.clip
            reader.setClipRect(QRect(x, y, w, h))
            sw, sh = scaled_size(w, h, self.side)
        else:
            sw, sh = scaled_size(size.width(), size.height(), self.side)
        reader.setScaledSize(QSize(sw, sh))
        image = reader.read()
        if image.isNull():
            self.signals.done.emit(self.key, QImage(), self._reason(reader), full)
            return
        self.signals.done.emit(self.key, image, "", full)

    def _reason(self, reader: QImageReader) -> str:
        return f"could not decode {self.path}: {reader.errorString()}"


class ImageLoader(QObject):
    """``request(path)`` → ``loaded(path, image, (w, h))`` on the main thread (from the
    cache at once when it is there) or ``failed(path, sentence)``. ``request_region``
    → ``region_loaded(path, (x, y, w, h), image)``."""

    loaded = Signal(str, QImage, tuple)
    failed = Signal(str, str)
    region_loaded = Signal(str, tuple, QImage)

    def __init__(self, parent: QObject | None = None, cache_images: int = CACHE_IMAGES) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self.cache: OrderedDict[str, tuple[QImage, tuple[int, int]]] = OrderedDict()
        self.capacity = cache_images
        self.sizes: dict[str, tuple[int, int]] = {}
        self._pending: set[tuple] = set()
        self._signals = _Signals(self)
        self._signals.done.connect(self._on_decode_done)
        self.wanted: str | None = None  # the image the view shows (others are prefetches)
        self.errors: dict[str, str] = {}

    def full_size(self, path: str) -> tuple[int, int]:
        """The image's pixel size (the header only; cached)."""
        if path not in self.sizes:
            size = QImageReader(path).size()
            self.sizes[path] = (size.width(), size.height()) if size.isValid() else (0, 0)
        return self.sizes[path]

    def cached(self, path: str) -> QImage | None:
        hit = self.cache.get(path)
        if hit is None:
            return None
        self.cache.move_to_end(path)
        return hit[0]

    def request(self, path: str) -> None:
        self.wanted = path
        hit = self.cached(path)
        if hit is not None:
            self.loaded.emit(path, hit, self.cache[path][1])
        elif path in self.errors:
            self.failed.emit(path, self.errors[path])
        else:
            self._start(("overview", path), path, OVERVIEW_SIDE, None)

    def prefetch(self, path: str) -> None:
        if path not in self.cache and path not in self.errors:
            self._start(("overview", path), path, OVERVIEW_SIDE, None)

    def request_region(self, path: str, clip: tuple[int, int, int, int], side: int) -> None:
        self._start(("region", path, clip, side), path, side, clip)

    def _start(self, key: tuple, path: str, side: int, clip: tuple[int, int, int, int] | None) -> None:
        if key in self._pending:
            return
        self._pending.add(key)
        self.pool.start(_Decode(key, path, side, clip, self._signals))

    def wait_idle(self, msecs: int = 30_000) -> bool:
        return self.pool.waitForDone(msecs)

    @Slot(object, QImage, str, tuple)
    def _on_decode_done(self, key: tuple, image: QImage, reason: str, full: tuple) -> None:
        self._pending.discard(key)
        path = key[1]
        if key[0] == "region":
            if not image.isNull() and path == self.wanted:
                self.region_loaded.emit(path, key[2], image)
            return
        if image.isNull():
            self.errors[path] = reason
            if path == self.wanted:
                self.failed.emit(path, reason)
            return
        self.sizes[path] = full
        self.cache[path] = (image, full)
        self.cache.move_to_end(path)
        while len(self.cache) > self.capacity:
            self.cache.popitem(last=False)
        if path == self.wanted:
            self.loaded.emit(path, image, full)
