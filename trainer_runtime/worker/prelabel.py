"""The prelabel recipe: run a model over a dataset version's images and write suggestions.

The model is the ``final/`` folder of an image-classification job (whole-image tag suggestions
with their softmax score) or a local Hugging Face object-detection model folder (box suggestions
from its image processor's ``post_process_object_detection``). By default only unlabeled images
are visited (no manifest label, or an annotation with neither tags nor shapes).

``JOB_DIR/suggestions.json`` (written atomically at the end) is::

    {"dataset", "version", "model", "kind": "tags"|"boxes",
     "images": {path: [{"kind": "tag"|"rect", "label", "score", "points": [[x0,y0],[x1,y1]]}]},
     "skipped": {path: reason}}

Progress: ``started`` (total_steps = images to visit), ``progress`` (step = images done) and
``metrics`` (``images_per_s``, ``suggestions``) events; ``completed`` names the artifact
``{"kind": "suggestions", "path": "suggestions.json"}``. A pause saves the suggestions so far as
a checkpoint (``checkpoints/step-N/``) and a resume continues after them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from trainer_runtime.jobs.image_checks import all_images, check_prelabel, is_unlabeled
from trainer_runtime.jobs.spec import PrelabelSpec, SpecError
from trainer_runtime.worker import checkpoint as ckpt
from trainer_runtime.worker.errors import WorkerError
from trainer_runtime.worker.image_data import open_image

log = logging.getLogger(__name__)
SUGGESTIONS = "suggestions.json"


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


class _Tagger:
    def __init__(self, path: Path, device: torch.device, opts: PrelabelSpec):
        from trainer_runtime.worker.image_models import load_classifier

        self.clf = load_classifier(path, device)
        self.device, self.opts = device, opts

    @torch.no_grad()
    def __call__(self, images: list[Any]) -> list[list[dict[str, Any]]]:
        x = self.clf.transform(images).to(self.device)
        probs = torch.softmax(self.clf.logits(x), dim=-1).cpu()
        k = min(self.opts.top_k, probs.shape[-1])
        out = []
        for row in probs:
            scores, idx = row.topk(k)
            out.append(
                [
                    {"kind": "tag", "label": self.clf.classes[int(i)], "score": round(float(s), 6)}
                    for s, i in zip(scores, idx, strict=True)
                    if float(s) >= self.opts.min_score
                ]
            )
        return out


class _Detector:
    def __init__(self, path: Path, device: torch.device, opts: PrelabelSpec):
        from transformers import AutoImageProcessor, AutoModelForObjectDetection
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        if not (path / "preprocessor_config.json").is_file():
            raise WorkerError(
                f"{path} has no preprocessor_config.json: save the detection model's image processor "
                "into the folder (processor.save_pretrained(folder)) and run the job again."
            )
        try:
            self.model = AutoModelForObjectDetection.from_pretrained(str(path)).to(device).eval()
            self.processor = AutoImageProcessor.from_pretrained(str(path))
        except (OSError, ValueError, KeyError) as err:
            raise WorkerError(
                f"cannot load {path} as a Hugging Face object-detection model: {str(err).splitlines()[0]}"
            ) from None
        if not hasattr(self.processor, "post_process_object_detection"):
            raise WorkerError(f"the image processor in {path} cannot turn model outputs into boxes")
        self.device, self.opts = device, opts
        self.names = dict(getattr(self.model.config, "id2label", None) or {})

    @torch.no_grad()
    def __call__(self, images: list[Any]) -> list[list[dict[str, Any]]]:
        inputs = self.processor(images=images, return_tensors="pt").to(self.device)
        outputs = self.model(**inputs)
        sizes = torch.tensor([[im.height, im.width] for im in images])
        results = self.processor.post_process_object_detection(
            outputs, threshold=self.opts.min_score, target_sizes=sizes
        )
        out = []
        for res, im in zip(results, images, strict=True):
            shapes: list[dict[str, Any]] = []
            for score, label, box in zip(res["scores"], res["labels"], res["boxes"], strict=True):
                rect = _clip_rect(box.tolist(), im.width, im.height)
                if rect is None or float(score) < self.opts.min_score:
                    continue
                name = str(self.names.get(int(label), int(label)))
                shapes.append(
                    {"kind": "rect", "label": name, "score": round(float(score), 6), "points": rect}
                )
            out.append(sorted(shapes, key=lambda s: -float(s["score"])))
        return out


def _clip_rect(box: list[float], w: int, h: int) -> list[list[float]] | None:
    """A normalised rect (x0 < x1, y0 < y1) inside the image, or None when nothing is left."""
    x0, y0, x1, y1 = (float(v) for v in box)
    x0, x1 = sorted((min(max(x0, 0.0), w), min(max(x1, 0.0), w)))
    y0, y1 = sorted((min(max(y0, 0.0), h), min(max(y1, 0.0), h)))
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return None
    return [[round(x0, 2), round(y0, 2)], [round(x1, 2), round(y1, 2)]]


class PrelabelRunner:
    def __init__(self, job, dist, events, credentials, pause):
        self.job, self.spec = job, job.spec
        self.dist, self.events, self.pause = dist, events, pause
        self.credentials = list(credentials)
        self.device = dist.device()
        self.opts = job.spec.prelabel or PrelabelSpec()
        self.outcome: str | None = None

    def _resume(self) -> tuple[int, dict[str, list], dict[str, str]]:
        if not self.job.resume_from:
            return 0, {}, {}
        folder = ckpt.resolve(self.job.job_dir, self.job.resume_from)
        try:
            state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
            partial = json.loads((folder / SUGGESTIONS).read_text(encoding="utf-8"))
            return int(state["step"]), dict(partial["images"]), dict(partial.get("skipped", {}))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise WorkerError(f"cannot resume: the checkpoint in {folder} could not be read: {err}") from None

    def _document(self, kind: str, images: dict[str, list], skipped: dict[str, str]) -> dict[str, Any]:
        ds = self.spec.dataset
        return {
            "dataset": ds.name, "version": ds.version, "hash": ds.hash, "model": self.spec.model.path,
            "kind": kind, "images": images, "skipped": skipped,
        }  # fmt: skip

    def _save_checkpoint(self, step: int, doc: dict[str, Any]) -> str:
        root = self.job.job_dir / ckpt.CHECKPOINTS
        target = root / ckpt.checkpoint_name(step)
        tmp = root / f".tmp-{ckpt.checkpoint_name(step)}-{os.getpid()}"
        try:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            (tmp / SUGGESTIONS).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            state = {"step": step, "recipe": "prelabel", "job_id": self.job.job_id, "time": time.time()}
            (tmp / "state.json").write_text(json.dumps(state), encoding="utf-8")
            shutil.rmtree(target, ignore_errors=True)
            os.replace(tmp, target)
        except OSError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise WorkerError(f"could not save the suggestions so far: {err.strerror or err}") from err
        return ckpt.relative_path(step)

    def run(self) -> None:
        spec, opts = self.spec, self.opts
        try:
            kind = check_prelabel(spec)
        except SpecError as err:
            raise WorkerError(str(err)) from None
        root = Path(spec.dataset.path or "")
        labels = all_images(root, spec.dataset.hash is not None)
        todo = [p for p, label in labels.items() if not opts.only_unlabeled or is_unlabeled(label)]
        done, images, skipped = self._resume()
        self.events.emit(
            "started", flush=True, step=done, total_steps=len(todo), resumed_from=self.job.resume_from,
            world_size=1, device=str(self.device), params_total=0, params_trainable=0,
            credentials=self.credentials,
        )  # fmt: skip
        log.info(
            "pre-labelling %d of %d images of %s with %s (%s)",
            len(todo), len(labels), spec.dataset.name, spec.model.path, kind,
        )  # fmt: skip
        model_path = Path(spec.model.path or "")
        predict = (_Tagger if kind == "tags" else _Detector)(model_path, self.device, opts)
        batch = max(1, spec.train.batch_size)
        t0, start = time.perf_counter(), done
        while done < len(todo):
            paths = todo[done : done + batch]
            decoded = []
            for p in paths:
                try:
                    decoded.append((p, open_image(root / p)))
                except WorkerError as err:
                    skipped[p] = str(err)
            if decoded:
                for (p, _), found in zip(decoded, predict([im for _, im in decoded]), strict=True):
                    images[p] = found
            done += len(paths)
            rate = (done - start) / max(time.perf_counter() - t0, 1e-9)
            self.events.emit("progress", step=done, total=len(todo))
            n_sugg = sum(len(v) for v in images.values())
            self.events.metrics(done, {"images_per_s": rate, "suggestions": float(n_sugg)})
            if done < len(todo) and self.pause():
                rel = self._save_checkpoint(done, self._document(kind, images, skipped))
                self.events.emit("checkpoint", flush=True, step=done, path=rel)
                self.events.emit("paused", flush=True, step=done, checkpoint=rel)
                self.pause.consume()
                log.info("paused after %d images", done)
                self.outcome = "paused"
                return
        _write_json_atomic(self.job.job_dir / SUGGESTIONS, self._document(kind, images, skipped))
        self.events.emit(
            "completed", flush=True, step=done, artifact={"kind": "suggestions", "path": SUGGESTIONS}
        )
        log.info(
            "completed: %d suggestion(s) for %d image(s), %d skipped; %s",
            sum(len(v) for v in images.values()), len(images), len(skipped), self.job.job_dir / SUGGESTIONS,
        )  # fmt: skip
        self.outcome = "completed"
