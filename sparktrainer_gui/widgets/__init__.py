"""Shared widgets: the connection banner, the runtime status, table delegates, dialogs."""
