"""The client's call for the SFT preview (``POST /v1/sft/preview``): returns the contract's model."""

from __future__ import annotations

import copy

from trainer_runtime.api.schema.base import parse
from trainer_runtime.api.schema.sft import SftPreview, SftPreviewRequest
from trainer_runtime.client.transport import Transport

PREVIEW_TIMEOUT_S = 240.0  # the daemon stops its preview after 180 s


class SftCalls(Transport):
    def sft_preview(self, request: SftPreviewRequest) -> SftPreview:
        """A few rendered examples, the length histogram and the first batch of an SFT job that
        would read ``request.dataset`` with ``request.model``'s tokenizer. A problem to fix (a
        template that does not exist, a mapping naming missing fields) raises ApiError whose
        ``problems`` name the spec field."""
        body = request.model_dump(mode="json")
        longer = copy.copy(self)  # a longer socket timeout for this call only (the GUI shares one client)
        longer.timeout = max(self.timeout, PREVIEW_TIMEOUT_S)
        return parse(SftPreview, longer.request("POST", "/v1/sft/preview", body))


__all__ = ["SftCalls"]
