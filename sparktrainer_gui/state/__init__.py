"""The GUI's state, one plain object per domain (DESIGN.md section 7).

A state object holds the daemon's typed views (``trainer_runtime.api.schema``) and tells who
listens what changed through :class:`~sparktrainer_gui.state.evented.Emitter` events. It
imports no Qt: it is tested without a QApplication, and the Qt item models over it are thin
adapters that turn its events into ``beginInsertRows``/``dataChanged``/``beginRemoveRows``.
"""
