"""Help → Keyboard shortcuts: generated from the action containers."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from sparktrainer_gui.actions import _Group, shortcut_text


class ShortcutsDialog(QDialog):
    def __init__(self, groups: Iterable[_Group], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(460, 520)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("shortcutsTree")
        self.tree.setHeaderLabels(["Action", "Shortcut"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        for group in groups:
            head = QTreeWidgetItem(self.tree, [group.title, ""])
            font = head.font(0)
            font.setBold(True)
            head.setFont(0, font)
            head.setFirstColumnSpanned(True)
            for action in group:
                keys = shortcut_text(action)
                if keys:
                    QTreeWidgetItem(head, [action.text().replace("&", "").rstrip("…"), keys])
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        self.tree.setColumnWidth(0, max(self.tree.columnWidth(0) + 24, 260))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.tree)
        lay.addWidget(buttons)

    def rows(self) -> list[tuple[str, str]]:
        out = []
        for i in range(self.tree.topLevelItemCount()):
            head = self.tree.topLevelItem(i)
            assert head is not None  # i < topLevelItemCount()
            out += [(c.text(0), c.text(1)) for j in range(head.childCount()) if (c := head.child(j))]
        return out
