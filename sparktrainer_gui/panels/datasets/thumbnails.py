"""Thumbnails decoded off the main thread, newest request first, kept in an LRU cache.

``get(path)`` answers at once: the cached pixmap, or None after queueing the file. Worker
threads (a QThreadPool) decode with QImageReader at the thumbnail size; the QImage comes back
through a queued signal and becomes a QPixmap on the main thread; ``ready`` then names the
files (batched, at most one announcement per frame) so views repaint them. Requests go on a bounded stack: when the user scrolls fast, the
files scrolled past fall off its bottom instead of being decoded."""

from __future__ import annotations

import threading
from collections import OrderedDict

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QSize, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QImage, QImageReader, QPixmap

CACHE_SIZE = 1500  # 96×96 RGBA thumbnails: about 55 MB
PENDING = 400
THREADS = 2
BATCH_MS = 15
IDLE_S = 2.0  # a decode thread waits this long for more work before it ends


def decode(path: str, size: int) -> QImage:
    """The image at ``path`` scaled to fit ``size``×``size`` (a null QImage if unreadable)."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    full = reader.size()
    if full.isValid() and (full.width() > size or full.height() > size):
        reader.setScaledSize(full.scaled(QSize(size, size), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull() or max(image.width(), image.height()) == size:
        return image
    # Small pictures are scaled up here, so a view draws every thumbnail 1:1; icon-sized ones
    # keep their pixels sharp, larger ones are smoothed.
    mode = (Qt.TransformationMode.FastTransformation if max(image.width(), image.height()) <= size // 3
            else Qt.TransformationMode.SmoothTransformation)  # fmt: skip
    return image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, mode)


class _Relay(QObject):
    decoded = Signal(str, QImage)


class _Decode(QRunnable):
    def __init__(self, loader: ThumbnailLoader):
        super().__init__()
        self.loader = loader
        self.setAutoDelete(True)

    def run(self) -> None:
        while (path := self.loader._next(IDLE_S)) is not None:
            image = decode(path, self.loader.size)
            self.loader._relay.decoded.emit(path, image)


class ThumbnailLoader(QObject):
    ready = Signal(list)  # files whose thumbnails (or failures) are now known, one list per frame

    def __init__(self, size: int = 96, cache_size: int = CACHE_SIZE, parent: QObject | None = None):
        super().__init__(parent)
        self.size = size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, QPixmap | None] = OrderedDict()  # None: not decodable
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._stack: list[str] = []
        self._queued: set[str] = set()
        self._running = 0
        self._idle = 0  # decode threads waiting for work
        self._stopping = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(THREADS)
        self._relay = _Relay()
        self._relay.decoded.connect(self._on_relay_decoded, Qt.ConnectionType.QueuedConnection)
        self.decoded_count = 0
        self._arrived: list[str] = []
        self._announce = QTimer(self, singleShot=True, interval=BATCH_MS)
        self._announce.timeout.connect(self._on_announce_timeout)
        app = QCoreApplication.instance()
        if app is not None:  # no decode may outlive the application
            app.aboutToQuit.connect(self.stop)

    def get(self, path: str) -> QPixmap | None:
        """The thumbnail if cached; otherwise None, and the file is queued (newest first)."""
        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        with self._lock:
            if path in self._queued:
                return None
            self._queued.add(path)
            self._stack.append(path)
            if len(self._stack) > PENDING:
                self._queued.discard(self._stack.pop(0))
            start = self._running < THREADS and self._idle == 0
            if start:
                self._running += 1
            else:
                self._work.notify()
        if start:
            self._pool.start(_Decode(self))
        return None

    def failed(self, path: str) -> bool:
        return path in self._cache and self._cache[path] is None

    def is_cached(self, path: str) -> bool:
        return path in self._cache

    def pending(self) -> int:
        with self._lock:
            return len(self._stack)

    def clear(self) -> None:
        with self._lock:
            self._queued.difference_update(self._stack)
            self._stack.clear()
        self._cache.clear()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._stack.clear()
            self._work.notify_all()
        self._pool.waitForDone(3000)

    def _next(self, wait_s: float) -> str | None:
        """The newest queued file; with none queued, wait up to ``wait_s`` for one, else None
        (and the calling thread ends). Starting a thread costs more than keeping one waiting."""
        with self._lock:
            if not self._stack and wait_s > 0 and not self._stopping:
                self._idle += 1
                self._work.wait(wait_s)
                self._idle -= 1
            if self._stack and not self._stopping:
                return self._stack.pop()
            self._running -= 1
            return None

    @Slot(str, QImage)
    def _on_relay_decoded(self, path: str, image: QImage) -> None:
        with self._lock:
            self._queued.discard(path)
        self._cache[path] = None if image.isNull() else QPixmap.fromImage(image)
        self.decoded_count += 1
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        self._arrived.append(path)
        if not self._announce.isActive():
            self._announce.start()

    @Slot()
    def _on_announce_timeout(self) -> None:
        arrived, self._arrived = self._arrived, []
        if arrived:
            self.ready.emit(arrived)
