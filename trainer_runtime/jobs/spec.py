"""JobSpec: the validated description of a training job.

The same model validates YAML files (CLI), API JSON (daemon) and the GUI's
wizard fields, so every client gets the same messages. Unknown fields are
errors, never silently ignored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from trainer_runtime.jobs import recipes
from trainer_runtime.plaintext import kernel_path, one_line

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}\Z")  # \Z: "$" would let a final newline in
MAX_STEPS = 10_000_000
MAX_SEED = (1 << 32) - 1  # numpy's seed range (the worker seeds random, numpy and torch with it)
MAX_TAGS = 100


PlainText = Annotated[str, AfterValidator(one_line)]
PathText = Annotated[str, Field(min_length=1), AfterValidator(kernel_path)]
Word = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(one_line)]
TagKey = Annotated[str, Field(min_length=1, max_length=250), AfterValidator(one_line)]  # MLflow's key limit
TagValue = Annotated[str, Field(max_length=1000), AfterValidator(one_line)]
_HUB_ID = re.compile(r"[\w.-]{1,96}(/[\w.-]{1,96})?")


def _hub_id(v: str) -> str:
    if v and not _HUB_ID.fullmatch(v):
        raise ValueError("a hub id is 'name' or 'owner/name' (letters, digits, '-', '_', '.')")
    return v


HubId = Annotated[str, AfterValidator(_hub_id)]

# The names of trainer_runtime.sft.formats.FORMATS and render.LOSS_ON, written here so the spec
# imports nothing of the SFT package (tests/unit/test_sft_worker.py keeps them equal).
DatasetFormat = Literal["alpaca", "sharegpt", "messages", "prompt-completion", "text"]
LossOn = Literal["all", "completion", "last_turn"]
MAX_EVAL_PROMPTS = 8


def _manifest_hash(v: str) -> str:
    if not re.fullmatch(r"[0-9a-f]{64}", v):
        raise ValueError("a manifest hash is 64 hex digits; leave dataset.hash out (the daemon sets it)")
    return v


ManifestHash = Annotated[str, AfterValidator(_manifest_hash)]


class _Strict(BaseModel):
    """Numbers are numbers: ``"5"`` and ``true`` are refused for an integer, ``Infinity`` and
    ``NaN`` for any number (YAML's ``3e-4`` is read as a number by ``load_spec_file``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _builtin(v: str) -> str:
    known = recipes.builtin_models()
    if v not in known:
        raise ValueError(f"unknown built-in model: use one of {', '.join(known)}")
    return v


def _recipe(v: str) -> str:
    try:
        return recipes.get(v).name
    except recipes.UnknownRecipe as err:
        raise ValueError(str(err)) from None


class ModelSpec(_Strict):
    builtin: Annotated[str, AfterValidator(_builtin)] | None = Field(
        None, description="a model built from a config, no download (each recipe names its own)"
    )
    path: PathText | None = Field(None, description="a local Hugging Face model folder")
    hub_id: HubId | None = Field(
        None, description="a Hugging Face hub id (downloaded with the keyring's HF token)"
    )
    graph: PathText | None = Field(None, description="an architecture graph file (the Builder's recipe)")

    @model_validator(mode="after")
    def _exactly_one(self) -> ModelSpec:
        given = [k for k in ("builtin", "path", "hub_id", "graph") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of builtin, path, hub_id or graph")
        return self


class LoraSpec(_Strict):
    r: int = Field(8, gt=0, le=1024)
    alpha: float = Field(16.0, gt=0, le=100_000)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[Word] | None = Field(None, max_length=256)


class DatasetSpec(_Strict):
    path: PathText | None = Field(
        None, description="a .txt or .jsonl file with a 'text' field; recipe sft: .json, .jsonl or .txt rows"
    )
    name: str | None = Field(None, max_length=80, description="an imported dataset, instead of path")
    version: int | Literal["latest"] | None = Field(None, description="its version number, or 'latest'")
    hash: ManifestHash | None = Field(
        None, description="set by the daemon at submit: the manifest hash of the version used"
    )
    text_field: Word = "text"
    eval_fraction: float = Field(0.1, gt=0, lt=1)
    format: DatasetFormat | None = Field(
        None, description="recipe sft: the rows' shape (alpaca, sharegpt, ...); left out: detected"
    )
    columns: dict[Word, Word] | None = Field(
        None,
        max_length=16,
        description="recipe sft: our field name -> the file's field name, for files named differently",
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        if (
            v is None
            or v == "latest"
            or (isinstance(v, int) and not isinstance(v, bool) and 1 <= v < 1 << 63)
        ):
            return v
        if isinstance(v, int) and not isinstance(v, bool) and v < 1:
            raise ValueError("dataset.version starts at 1 (or use 'latest')")
        raise ValueError("give a version number (1, 2, ...) or 'latest'")

    @model_validator(mode="after")
    def _path_or_name(self) -> DatasetSpec:
        # The daemon resolves {name, version} at submit into path (a read-only file built from
        # the version's blobs), a pinned version number and its manifest hash.
        if self.name is None:
            if not self.path:
                raise ValueError("give dataset.path (a file) or dataset.name (an imported dataset)")
            if self.version is not None or self.hash is not None:
                raise ValueError("dataset.version and dataset.hash belong to a dataset.name")
            return self
        if not NAME_RE.match(self.name):
            raise ValueError("dataset.name: use 1-80 letters, digits, '.', '_' or '-'")
        if self.path and self.hash is None:
            raise ValueError("give dataset.path or dataset.name, not both")
        return self


Method = Literal["full", "lora", "qlora"]
Precision = Literal["auto", "bf16", "fp16", "fp32"]
Strategy = Literal["auto", "ddp", "fsdp"]
ADAPTER_METHODS = ("lora", "qlora")  # methods that train a LoRA adapter (qlora: on a 4-bit base)


class TrainSpec(_Strict):
    max_steps: int = Field(..., gt=0, le=MAX_STEPS)
    batch_size: int = Field(8, gt=0, le=65536)
    seq_len: int = Field(64, gt=1, le=131072)
    lr: float = Field(3e-4, gt=0, lt=10)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    warmup_steps: int = Field(0, ge=0, le=MAX_STEPS)
    weight_decay: float = Field(0.0, ge=0, le=10)
    max_grad_norm: float = Field(1.0, gt=0, le=1e6)
    eval_every: int = Field(50, ge=0, le=MAX_STEPS, description="0 = only at the end")
    eval_batches: int = Field(8, gt=0, le=100_000)
    checkpoint_every: int = Field(0, ge=0, le=MAX_STEPS, description="0 = only at pause and at the end")
    keep_checkpoints: int = Field(
        3, ge=0, le=MAX_STEPS, description="keep the newest N plus the best by eval loss; 0 = keep all"
    )
    log_every: int = Field(1, gt=0, le=MAX_STEPS)
    image_size: int | None = Field(
        None, ge=8, le=4096, description="image recipes: side in pixels (default: the model's)"
    )
    micro_batch_size: int | None = Field(
        None,
        gt=0,
        le=65536,
        description="samples per device per forward pass; batch_size = micro x accumulation x devices "
        "(left out: batch_size / devices, no accumulation)",
    )
    gradient_checkpointing: bool = Field(
        False, description="recompute activations in the backward pass: less memory, about 30 % slower"
    )
    precision: Precision = Field(
        "auto", description="auto: bf16 on GPUs that support it, fp16 on older GPUs, fp32 on CPU"
    )

    def accumulation(self, devices: int) -> int:
        """Micro-batches per optimizer step on each of ``devices`` devices."""
        return self.batch_size // (self.micro(devices) * devices)

    def micro(self, devices: int) -> int:
        """Samples per device per forward pass."""
        return self.micro_batch_size or max(1, self.batch_size // devices)


class ResourcesSpec(_Strict):
    devices: int = Field(
        1, ge=1, le=64, description="processes (CPU) or whole GPUs; >1 runs DDP via torchrun"
    )
    memory_gb: float | None = Field(
        None, gt=0, le=100_000, description="GPU memory per device in GB (decimal, as in MIG profile names)"
    )
    strategy: Strategy = Field(
        "auto",
        description="several devices: ddp (a whole copy per device) or fsdp (weights, gradients and "
        "optimizer sharded per transformer block); auto: ddp when the job fits one device, else fsdp",
    )


class SftSpec(_Strict):
    """Recipe sft: how examples become training tokens, and what the job generates while it trains."""

    template: Word | None = Field(
        None, description="a named chat template (chatml, llama-3, ...); left out: the model's own"
    )
    loss_on: LossOn = Field(
        "completion",
        description="the tokens the loss counts: all, completion (every assistant turn), last_turn",
    )
    packing: bool = Field(True, description="pack short examples into train.seq_len rows (else pad each)")
    eval_prompts: list[Annotated[str, Field(min_length=1, max_length=4000)]] = Field(
        default_factory=list,
        max_length=MAX_EVAL_PROMPTS,
        description="user prompts answered greedily every train.eval_every steps (generations.jsonl)",
    )
    max_new_tokens: int = Field(64, ge=1, le=4096, description="the longest answer to an eval prompt")


class PrelabelSpec(_Strict):
    only_unlabeled: bool = Field(True, description="skip images that already have tags or shapes")
    min_score: float = Field(0.0, ge=0, le=1, description="drop suggestions scored below this")
    top_k: int = Field(1, ge=1, le=100, description="tag suggestions per image (classifier models)")


class JobSpec(_Strict):
    name: str
    experiment: PlainText = Field(
        "default", min_length=1, max_length=200, description="MLflow experiment / grouping"
    )
    recipe: Annotated[str, AfterValidator(_recipe)] = Field(
        description="a registered recipe (trainer_runtime.jobs.recipes); left out: inferred from the "
        "spec's sections and model, else the default recipe"
    )
    model: ModelSpec
    method: Method = "lora"
    lora: LoraSpec | None = None
    dataset: DatasetSpec
    train: TrainSpec
    prelabel: PrelabelSpec | None = None
    sft: SftSpec | None = None
    resources: ResourcesSpec = ResourcesSpec()
    priority: int = Field(0, ge=-100, le=100, description="higher runs first")
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, max_length=MAX_TAGS)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.match(v):
            raise ValueError("use 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit")
        return v

    @model_validator(mode="before")
    @classmethod
    def _recipe_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "recipe" not in data:
            data = {**data, "recipe": recipes.infer(data)}
        name = data["recipe"]
        trains = not (isinstance(name, str) and name in recipes.names()) or recipes.get(name).trains
        if not trains and "train" not in data:
            return {**data, "train": {"max_steps": 1}}  # a job that trains nothing
        return data

    @model_validator(mode="after")
    def _recipe_rules(self) -> JobSpec:
        recipes.check_spec(self)  # the recipe's own rules (trainer_runtime/jobs/recipes/)
        own = recipes.get(self.recipe)
        if "lora" not in own.methods:  # all weights train; LoRA does not apply
            object.__setattr__(self, "method", "full")
            return self
        if self.method not in own.methods:
            raise ValueError(
                f"recipe '{own.name}' has no method '{self.method}': use {' or '.join(own.methods)}"
            )
        if self.adapter and self.lora is None:
            object.__setattr__(self, "lora", LoraSpec())
        if self.method == "full" and self.lora is not None:
            raise ValueError("'lora' settings are given but method is 'full'")
        self._batch_rule()
        return self

    def _batch_rule(self) -> None:
        t, devices = self.train, self.resources.devices
        if t.micro_batch_size is None:
            return
        per_pass = t.micro_batch_size * devices
        if t.batch_size % per_pass:
            raise ValueError(
                f"train.batch_size {t.batch_size} is the global batch: micro_batch_size "
                f"{t.micro_batch_size} x accumulation x {devices} device(s), so it must be a multiple of "
                f"{per_pass} (try batch_size {max(per_pass, t.batch_size // per_pass * per_pass)})"
            )

    @property
    def adapter(self) -> bool:
        """The job trains a LoRA adapter (method lora or qlora)."""
        return self.method in ADAPTER_METHODS

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class SpecError(ValueError):
    """A spec that failed validation; ``problems`` maps a dotted field path to a message."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{field}: {msg}" if field else msg for field, msg in problems))


def _problems(err: ValidationError) -> list[tuple[str, str]]:
    out = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        out.append((loc, msg))
    return out


def parse_spec(data: Any) -> JobSpec:
    """Validate a mapping (from YAML or JSON) into a JobSpec, raising SpecError."""
    if not isinstance(data, dict):
        raise SpecError([("", f"a job spec must be a mapping of fields, not {type(data).__name__}")])
    try:
        return JobSpec.model_validate(data)
    except ValidationError as err:
        raise SpecError(_problems(err)) from None


class _SpecLoader(yaml.SafeLoader):
    """YAML with YAML 1.2's numbers: ``lr: 3e-4`` is a float (PyYAML's YAML 1.1 reads it as text,
    which strict specs refuse)."""


_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def load_spec_file(path: str | Path) -> JobSpec:
    """Read a YAML (or JSON) spec file. Relative dataset/model paths resolve against the file's folder."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([("", f"spec file not found: {p}")]) from None
    except UnicodeDecodeError:
        raise SpecError([("", f"spec file is not UTF-8 text: {p}")]) from None
    try:
        data = yaml.load(text, Loader=_SpecLoader)  # noqa: S506 - a SafeLoader with YAML 1.2 floats
    except yaml.YAMLError as err:
        raise SpecError([("", f"spec file is not valid YAML: {err}")]) from None
    if isinstance(data, dict):
        data = resolve_paths(data, p.resolve().parent)
    return parse_spec(data)


def resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make relative dataset and model paths absolute against ``base`` (or the cwd)."""
    data = dict(data)
    for section, key in (("dataset", "path"), ("model", "path"), ("model", "graph")):
        sub = data.get(section)
        if isinstance(sub, dict) and isinstance(sub.get(key), str):
            try:
                candidate = Path(sub[key]).expanduser()
                if not candidate.is_absolute():
                    for root in (base, Path.cwd()):
                        if (root / candidate).exists():
                            candidate = root / candidate
                            break
                    else:
                        candidate = base / candidate
                resolved = str(candidate.resolve())
            except (OSError, ValueError):  # too long, a NUL, ...: left as given for validation to name
                continue
            data[section] = {**sub, key: resolved}
    return data


def dump_spec_yaml(spec: JobSpec) -> str:
    return yaml.safe_dump(spec.to_dict(), sort_keys=False)
