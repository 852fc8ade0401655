"""Which modules LoRA attaches to: the spec's names (checked), peft's table, or every linear layer.

peft knows default targets for some model types only (``q_proj``/``v_proj`` for Llama, Qwen2,
Mistral, Gemma-2; none for Phi-3, OLMo-2, Granite, Starcoder2, Qwen3-MoE, ...). Where it has none,
``get_peft_model`` fails with "Please specify `target_modules`" without naming one module, so a job
on such a model used to fail after queueing. Here:

- names from ``lora.target_modules`` must each match a layer LoRA can wrap (the way peft matches a
  name: the module's full name, or its last dotted parts); one matching nothing is refused with
  the linear layers of the model's blocks listed (``candidate_names``);
- with no names, peft's own table is used when it has the model type and those layers exist;
- otherwise every linear layer inside the repeated blocks (attention and MLP: Phi-3's fused
  ``qkv_proj`` and ``gate_up_proj`` included) by short name, never ``lm_head`` or embeddings, with
  a log sentence saying so.

``python -m trainer_runtime.worker.lora_targets MODEL_DIR NAME...`` checks names against a local
folder from its config alone (the model is built on the meta device: no weights are read) and
prints one JSON line, ``{"problem": sentence-or-null}``: the daemon runs it at submit in a child
process, because the daemon never imports torch.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from trainer_runtime.worker.errors import WorkerError

_BLOCK_INDEX = re.compile(r"\.\d+\.")  # a module inside a ModuleList of blocks: "layers.3.", "h.0."
_OUTPUT_NAMES = {"lm_head", "embed_out", "output", "score", "classifier", "qa_outputs"}


def _wrappable(module: Any) -> bool:
    """A layer type peft's LoRA can wrap (``torch.nn.Linear`` and its subclasses, GPT-2's Conv1D)."""
    import torch
    from transformers.pytorch_utils import Conv1D

    return isinstance(module, torch.nn.Linear | Conv1D)


def _linear_layers(model: Any) -> list[tuple[str, Any]]:
    outputs = {id(m) for m in (model.get_output_embeddings(), model.get_input_embeddings()) if m is not None}
    return [
        (name, module)
        for name, module in model.named_modules()
        if _wrappable(module) and id(module) not in outputs and name.rsplit(".", 1)[-1] not in _OUTPUT_NAMES
    ]


def candidate_names(model: Any) -> list[str]:
    """The short names of the linear layers inside the model's repeated blocks (attention and MLP),
    in model order, without duplicates: what ``lora.target_modules`` can name."""
    names: list[str] = []
    for full, _ in _linear_layers(model):
        short = full.rsplit(".", 1)[-1]
        if _BLOCK_INDEX.search(f".{full}") and short not in names:
            names.append(short)
    return names


def _matches(full: str, name: str) -> bool:
    return full == name or full.endswith(f".{name}")


def _model_type(model: Any) -> str:
    return str(getattr(model.config, "model_type", "") or "")


def resolve_targets(model: Any, given: list[str] | None) -> tuple[list[str], str | None]:
    """``(target_modules for peft, a log sentence or None)``; WorkerError names a bad name and the
    candidates."""
    candidates = candidate_names(model)
    layers = _linear_layers(model)
    if given:
        for name in given:
            if not any(_matches(full, name) for full, _ in layers):
                whole = any(_matches(full, name) for full, _ in model.named_modules())
                why = "is not a linear layer" if whole else "matches no layer"
                raise WorkerError(
                    f"lora.target_modules: '{name}' {why} of this {_model_type(model) or 'model'} model. "
                    f"The linear layers of its attention and MLP blocks are: {', '.join(candidates) or 'none'}; "
                    "name some of these, or leave lora.target_modules out to use them all."
                )
        return list(given), None
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT_TABLE

    mt = _model_type(model)
    known = [n for n in PEFT_TABLE.get(mt, []) if any(_matches(full, n) for full, _ in layers)]
    if known:
        return known, None
    if not candidates:
        raise WorkerError(
            f"lora: found no linear layer inside the blocks of this {mt or 'model'} model to attach LoRA to; "
            "set lora.target_modules to the names of its attention or MLP layers."
        )
    why = "has no default LoRA targets" if mt not in PEFT_TABLE else "names layers this model does not have"
    return candidates, (
        f"lora: peft {why} for model type '{mt}', so LoRA is attached to every linear layer of its attention "
        f"and MLP blocks: {', '.join(candidates)}. Set lora.target_modules to choose fewer."
    )


def check_folder_targets(path: str, names: list[str]) -> str | None:
    """The sentence refusing ``names`` for the model folder ``path``, or None when all match. The
    model is built from config.json on the meta device (about a second, no weights read); a model
    type transformers cannot build without remote code is not judged here (the worker checks it)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(path)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
    except (OSError, ValueError, KeyError, ImportError):
        return None
    try:
        resolve_targets(model, names)
    except WorkerError as err:
        return str(err)
    return None


def main(argv: list[str]) -> None:
    problem = check_folder_targets(argv[0], argv[1:])
    sys.stdout.write(json.dumps({"problem": problem}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
