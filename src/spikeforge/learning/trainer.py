"""The training loop: a learning rule fills ``.grad``, the trainer does everything else.

One training batch, in order:

1. the labels go through ``objective.prepare_target`` (e.g. the ECG burn-in steps are masked);
2. with ``tbptt = k`` a time-major batch ``[T, B, ...]`` is cut into chunks of ``k`` steps
   (per-step labels ``[T, B]`` too); each chunk is one ``rule.step`` starting from the
   previous chunk's final state, detached, and its loss is weighted by its share of the
   scored elements, so the chunk gradients add up to the gradient of the batch's mean
   loss with the temporal credit cut at chunk borders (``tbptt = T`` is plain BPTT);
3. ``.grad`` is averaged over processes (data-parallel runs), clipped by value and/or
   norm, and the optimizer steps: once per batch (``tbptt_update: "sequence"``, the
   default: memory of one chunk, one update per sequence) or after every chunk
   (``"chunk"``: ``T / k`` updates per sequence, as Yin et al. (2021) do for PS-MNIST);
4. the schedule steps once per batch.

After each epoch the model is evaluated on the test set, a row of metrics is added
(CSV and TensorBoard in ``out_dir``) and a checkpoint is written. With
``weight_average = decay`` the trainer also keeps a moving average of the weights
(:mod:`spikeforge.learning.weight_average`), updated after every optimizer step; evaluation
uses it, and checkpoints hold it (``"averaged_model"``, what ``spikeforge eval`` loads). Checkpoints are also
written every ``checkpoint_every`` batches, and on Ctrl-C between batches.

Exact resume: the run is seeded from ``config.seed`` when the trainer is built (torch,
Python and NumPy generators; process ``r`` of a data-parallel run with ``seed + r``);
epoch ``e`` visits the data in an order drawn from ``(seed, e)`` only; the checkpoint
holds the model, optimizer and scheduler states, the epoch and the batches done in it,
every process's random generator states and the running sums of the epoch's metrics.
A trainer built the same way that loads the checkpoint skips the batches already done
and ends with weights equal to those of a run that was never interrupted (with
``num_workers = 0`` or a dataset that draws no random numbers in its workers).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from .checkpoint import load_checkpoint, save_checkpoint
from .distributed import all_gather_objects, all_reduce_sum, average_gradients, broadcast_module, dist_info
from .evaluation import batch_samples, evaluate, firing_rates
from .metrics import TensorBoardLog, tensorboard_available, write_metrics_csv
from .monitor import SpikeMonitor
from .objectives import Objective, objective_from_name
from .optim import build_optimizer, build_scheduler
from .rng_state import rng_state, set_rng_state
from .rules import BPTT, LearningRule
from .sampler import EpochBatchSampler, epoch_seed
from .train_config import TrainConfig
from .weight_average import WeightAverage

__all__ = ["TrainConfig", "Trainer", "Callback", "evaluate"]

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.csv"


class Callback:
    """Hooks into :meth:`Trainer.fit`; override the ones you need. Plain callables are ``on_batch_end``."""

    def on_batch_end(self, trainer: "Trainer") -> None:
        """After each training batch (and any periodic checkpoint)."""

    def on_epoch_end(self, trainer: "Trainer", row: dict[str, Any]) -> None:
        """After each epoch's evaluation and checkpoint, with its metrics row."""


class _FunctionCallback(Callback):
    def __init__(self, fn: Callable[["Trainer"], None]) -> None:
        self.fn = fn

    def on_batch_end(self, trainer: "Trainer") -> None:
        self.fn(trainer)


def _zero_acc() -> dict[str, float]:
    return {"loss_sum": 0.0, "count": 0.0, "correct": 0.0, "scored": 0.0, "samples": 0.0, "time": 0.0}


class Trainer:
    """Train a spiking classifier with a learning rule (BPTT by default).

    Args:
        model: ``forward(x, state=None) -> (out [T, B, C], state)``.
        train_data: a map-style dataset of ``(x, y)`` pairs.
        objective: an :class:`~spikeforge.learning.objectives.Objective` or its name.
        test_data: evaluated after every ``eval_every`` epochs.
        rule: the learning rule (default :class:`~spikeforge.learning.rules.BPTT`).
        config: a :class:`TrainConfig` or a mapping of its fields.
        collate_fn: batches items (default: torch's default collate; time-major
            sequence batches need the dataset's own, e.g. ``spikeforge.data.collate_for``).
        device: where the model and batches live.
        out_dir: folder of the checkpoint and metrics files (``None``: write nothing).
        progress: show a progress bar (needs ``tqdm``; rank 0 only).
        tensorboard: log to TensorBoard in ``out_dir/tensorboard``; ``None`` means when installed.
        callbacks: :class:`Callback` objects or functions called after each batch.
        extra: plain data stored in each checkpoint (``spikeforge train`` puts the recipe there).

    In a data-parallel run (``torch.distributed`` initialised, see
    :mod:`spikeforge.learning.distributed`) each process builds the same trainer;
    only rank 0 writes files and shows the progress bar.
    """

    def __init__(
        self,
        model: nn.Module,
        train_data: Dataset,
        *,
        objective: Objective | str = "mean_membrane",
        test_data: Dataset | None = None,
        rule: LearningRule | None = None,
        config: TrainConfig | Mapping[str, Any] | None = None,
        collate_fn: Callable | None = None,
        device: str | torch.device = "cpu",
        out_dir: str | Path | None = None,
        progress: bool = False,
        tensorboard: bool | None = None,
        callbacks: Iterable[Callback | Callable[["Trainer"], None]] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config or {})
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.train_data = train_data
        self.test_data = test_data
        self.objective = objective if isinstance(objective, Objective) else objective_from_name(objective)
        self.rule = rule if rule is not None else BPTT()
        self.collate_fn = collate_fn
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.progress = bool(progress)
        self.callbacks = [c if isinstance(c, Callback) else _FunctionCallback(c) for c in callbacks]
        self.extra = dict(extra or {})
        self.dist = dist_info()
        if self.config.batch_size % self.dist.world_size:
            log.warning("batch size %d is not a multiple of the %d processes; shares differ by one sample",
                        self.config.batch_size, self.dist.world_size)

        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(self.model, self.config.optimizer)
        self.steps_per_epoch = self._train_sampler(0).global_batches()
        self.scheduler = build_scheduler(self.optimizer, self.config.schedule,
                                         steps_per_epoch=self.steps_per_epoch, epochs=self.config.epochs)
        self.monitor = SpikeMonitor(self.model)
        decay = self.config.weight_average
        self.weight_average = None if decay is None else WeightAverage(self.model, decay)

        self.epoch = 0  # epochs completed
        self.batch = 0  # batches completed in the current epoch
        self.global_step = 0  # batches completed in the whole run
        self.metrics: list[dict[str, Any]] = []
        self.elapsed = 0.0  # seconds of fit() so far, over all sessions of the run
        self._acc = _zero_acc()
        self._between_batches = True

        self._seed_everything()
        if self.dist.active:
            broadcast_module(self.model)
        self._tensorboard = None
        if self.dist.is_main and self.out_dir is not None:
            wanted = tensorboard_available() if tensorboard is None else tensorboard
            if wanted:
                self._tensorboard = TensorBoardLog(self.out_dir / "tensorboard")

    # -- setup -----------------------------------------------------------------------------
    def _seed_everything(self) -> None:
        seed = self.config.seed + self.dist.rank
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed % 2**32)

    def _train_sampler(self, epoch: int, start: int = 0) -> EpochBatchSampler:
        cfg = self.config
        return EpochBatchSampler(len(self.train_data), cfg.batch_size, seed=cfg.seed, epoch=epoch, shuffle=True,
                                 rank=self.dist.rank, world_size=self.dist.world_size, drop_last=cfg.drop_last,
                                 limit=cfg.limit_batches, start=start)

    def _loader(self, data: Dataset, batch_sampler: Any, epoch: int) -> DataLoader:
        generator = torch.Generator().manual_seed(epoch_seed(self.config.seed + 7919 * self.dist.rank, epoch))
        return DataLoader(data, batch_sampler=batch_sampler, collate_fn=self.collate_fn,
                          num_workers=self.config.num_workers, generator=generator,
                          pin_memory=self.device.type == "cuda")

    @property
    def checkpoint_path(self) -> Path | None:
        return None if self.out_dir is None else self.out_dir / CHECKPOINT_NAME

    @property
    def finished(self) -> bool:
        return self.epoch >= self.config.epochs

    # -- the loop ----------------------------------------------------------------------------
    def fit(self, max_steps: int | None = None) -> list[dict[str, Any]]:
        """Train until ``config.epochs`` are done (or ``max_steps`` batches in the whole run).

        Returns the metrics rows so far. Stopping at ``max_steps`` writes a checkpoint
        (with ``out_dir``) that a new trainer can resume from.
        """
        try:
            while not self.finished:
                if self._train_epoch(max_steps):
                    self.save_checkpoint()
                    return self.metrics
                self._end_epoch()
        except KeyboardInterrupt:
            if self._between_batches and self.out_dir is not None:
                path = self.save_checkpoint()
                log.warning("interrupted: saved the state after batch %d of epoch %d to %s",
                            self.batch, self.epoch + 1, path)
            raise
        finally:
            if self._tensorboard is not None:
                self._tensorboard.writer.flush()
        return self.metrics

    def _train_epoch(self, max_steps: int | None) -> bool:
        """Run the rest of the current epoch; ``True`` when stopped early by ``max_steps``."""
        cfg = self.config
        sampler = self._train_sampler(self.epoch, start=self.batch)
        loader = self._loader(self.train_data, sampler, self.epoch)
        bar = self._progress_bar(sampler)
        self.model.train()
        self.monitor.attach()
        try:
            start = time.perf_counter()
            for x, y in loader:
                if max_steps is not None and self.global_step >= max_steps:
                    return True
                self._between_batches = False
                self._train_batch(x, y)
                self.batch += 1
                self.global_step += 1
                self._between_batches = True
                now = time.perf_counter()
                self._acc["time"] += now - start
                self.elapsed += now - start
                start = now
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix_str(self._postfix(), refresh=False)
                if cfg.checkpoint_every and self.global_step % cfg.checkpoint_every == 0:
                    self.save_checkpoint()
                for callback in self.callbacks:
                    callback.on_batch_end(self)
                if max_steps is not None and self.global_step >= max_steps:
                    return True
        finally:
            self.monitor.detach()
            if bar is not None:
                bar.close()
        return False

    def _progress_bar(self, sampler: EpochBatchSampler) -> Any:
        if not (self.progress and self.dist.is_main):
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            log.info("no progress bar: pip install tqdm (the 'train' extra)")
            return None
        return tqdm(total=sampler.global_batches(), initial=self.batch, leave=False, dynamic_ncols=True,
                    desc=f"epoch {self.epoch + 1}/{self.config.epochs}", file=sys.stderr, disable=None)

    def _postfix(self) -> str:
        a = self._acc
        loss = a["loss_sum"] / a["count"] if a["count"] else float("nan")
        acc = a["correct"] / a["scored"] if a["scored"] else float("nan")
        rate, rate_hz = firing_rates(self.monitor)
        if not self.monitor.observed:  # the rule ran the neurons itself
            shown = "-"
        else:
            shown = f"{rate_hz:.1f} Hz" if rate_hz is not None else f"{rate:.3f}/step"
        return f"loss={loss:.4f}, acc={acc:.1%}, rate={shown}"

    # -- one batch -----------------------------------------------------------------------------
    def _chunks(self, x: Tensor, y: Tensor) -> list[tuple[Tensor, Tensor, float]]:
        """``(x_chunk, y_chunk, fraction of T)`` for truncated BPTT (one chunk without it)."""
        k = self.config.tbptt
        if k is None or x.dim() < 3 or k >= x.shape[0]:
            return [(x, y, 1.0)]
        num_steps = x.shape[0]
        if self.objective.per_step and y.shape[0] != num_steps:
            raise ValueError(f"per-step labels have {y.shape[0]} steps but the input has {num_steps}")
        chunks = []
        for t0 in range(0, num_steps, k):
            t1 = min(t0 + k, num_steps)
            chunks.append((x[t0:t1], y[t0:t1] if self.objective.per_step else y, (t1 - t0) / num_steps))
        return chunks

    def _train_batch(self, x: Tensor, y: Tensor) -> None:
        x = x.to(self.device, non_blocking=True)
        y = self.objective.prepare_target(y.to(self.device, non_blocking=True))
        objective = self.objective
        local = objective.count(y)
        world = self.dist.world_size
        total = all_reduce_sum([local], self.device)[0] if self.dist.active else float(local)
        chunks = self._chunks(x, y)
        state = None
        outs, batch_loss = [], 0.0
        for i, (xc, yc, frac) in enumerate(chunks):
            share = objective.count(yc) if objective.per_step else frac * local  # scored elements in the chunk
            weight = share * world / total if total else 0.0
            result = self.rule.step(self.model, xc, yc, objective, state=state, loss_weight=weight)
            state = result.state
            outs.append(result.out)
            if share:
                batch_loss += float(result.loss) * share
            if self.config.tbptt_update == "chunk" or i == len(chunks) - 1:
                self._apply_update()
        self.scheduler.step()
        out = outs[0] if len(outs) == 1 else torch.cat(outs, 0)
        right, scored = objective.correct(out, y)
        a = self._acc
        a["loss_sum"] += batch_loss
        a["count"] += local
        a["correct"] += right
        a["scored"] += scored
        a["samples"] += batch_samples(y, objective)

    def _apply_update(self) -> None:
        cfg = self.config
        if self.dist.active:
            average_gradients(self.params, self.dist.world_size)
        if cfg.clip_grad_value is not None:
            torch.nn.utils.clip_grad_value_(self.params, cfg.clip_grad_value)
        if cfg.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.params, cfg.clip_grad_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.weight_average is not None:
            self.weight_average.update(self.model)

    # -- epoch end -------------------------------------------------------------------------------
    def _end_epoch(self) -> None:
        cfg = self.config
        a = dict(self._acc)
        if self.dist.active:
            keys = sorted(a)
            a = dict(zip(keys, all_reduce_sum([a[k] for k in keys], self.device)))
            a["time"] /= self.dist.world_size
            self.monitor.all_reduce()
            with torch.no_grad():  # BatchNorm statistics: rank 0's, for evaluation and the checkpoint
                for b in self.model.buffers():
                    torch.distributed.broadcast(b, 0)
        rate, rate_hz = firing_rates(self.monitor) if self.monitor.observed else (None, None)
        row: dict[str, Any] = {
            "epoch": self.epoch + 1,
            "step": self.global_step,
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "train_loss": a["loss_sum"] / a["count"] if a["count"] else None,
            "train_accuracy": a["correct"] / a["scored"] if a["scored"] else None,
            "train_rate": rate,
            "train_rate_hz": rate_hz,
        }
        last = self.epoch + 1 == cfg.epochs
        if self.test_data is not None and ((self.epoch + 1) % cfg.eval_every == 0 or last):
            start = time.perf_counter()
            result = self.evaluate()
            row.update(test_loss=result["loss"], test_accuracy=result["accuracy"], test_rate=result["rate"],
                       test_rate_hz=result["rate_hz"])
            if self.weight_average is not None:  # what the average buys: the last weights' figures too
                last_weights = self.evaluate(averaged=False)
                row.update(test_loss_last=last_weights["loss"], test_accuracy_last=last_weights["accuracy"])
            self.elapsed += time.perf_counter() - start
        row["epoch_time_s"] = a["time"]
        row["elapsed_s"] = self.elapsed
        self.metrics.append(row)
        self.epoch += 1
        self.batch = 0
        self._acc = _zero_acc()
        self.monitor.reset()
        if self.dist.is_main and self.out_dir is not None:
            write_metrics_csv(self.metrics, self.out_dir / METRICS_NAME)
            if self._tensorboard is not None:
                self._tensorboard.log(row)
        self.save_checkpoint()
        log.info("epoch %d/%d: %s", row["epoch"], cfg.epochs, _format_row(row))
        for callback in self.callbacks:
            callback.on_epoch_end(self, row)

    # -- evaluation --------------------------------------------------------------------------------
    def evaluation_weights(self) -> contextlib.AbstractContextManager:
        """A block in which the model holds the weights it is evaluated with (the average, if kept)."""
        if self.weight_average is None:
            return contextlib.nullcontext(self.model)
        return self.weight_average.applied(self.model)

    def evaluate(self, data: Dataset | None = None, *, limit: int | None = None,
                 monitor: SpikeMonitor | None = None, averaged: bool = True) -> dict[str, Any]:
        """Loss, accuracy and firing rates on ``data`` (default: the test set); see :func:`evaluate`.

        With a weight average kept, the averaged weights are evaluated (``averaged=False``: the last ones).
        """
        data = self.test_data if data is None else data
        if data is None:
            raise ValueError("no data to evaluate: the trainer has no test set")
        cfg = self.config
        with self.evaluation_weights() if averaged else contextlib.nullcontext():
            return evaluate(self.model, data, self.objective, batch_size=cfg.eval_batch_size or cfg.batch_size,
                            collate_fn=self.collate_fn, device=self.device,
                            limit=cfg.limit_eval_batches if limit is None else limit, monitor=monitor,
                            num_workers=cfg.num_workers)

    # -- checkpoints -------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything a new trainer needs to continue this run exactly (collective in data-parallel runs)."""
        mine = {"rng": rng_state(), "accumulators": dict(self._acc), "monitor": self.monitor.state_dict()}
        ranks = all_gather_objects(mine) if self.dist.active else [mine]
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "epoch": self.epoch,
            "batch": self.batch,
            "global_step": self.global_step,
            "elapsed": self.elapsed,
            "metrics": [dict(r) for r in self.metrics],
            "config": self.config.to_dict(),
            "objective": self.objective.config(),
            "rule": getattr(self.rule, "name", type(self.rule).__name__),
            "world_size": self.dist.world_size,
            "ranks": ranks,
            "finished": self.finished,
            "extra": self.extra,
        }
        if self.weight_average is not None:  # the run's state, and the weights to evaluate with
            state["weight_average"] = self.weight_average.state_dict()
            state["averaged_model"] = self.weight_average.averaged_state_dict(self.model)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`; the next :meth:`fit` continues where it was taken."""
        changed = {k: (v, self.config.to_dict().get(k)) for k, v in state.get("config", {}).items()
                   if self.config.to_dict().get(k) != v}
        if changed:
            log.warning("resuming with changed settings %s; the run will differ from the original",
                        ", ".join(f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items()))
        self.model.load_state_dict(state["model"])
        if self.weight_average is not None:
            if "weight_average" in state:
                self.weight_average.load_state_dict(state["weight_average"])
            else:
                log.warning("the checkpoint keeps no weight average; it restarts from the loaded weights")
                self.weight_average = WeightAverage(self.model, self.weight_average.decay)
        self.optimizer.load_state_dict(state["optimizer"])
        lambdas = [copy.copy(fn) for fn in self.scheduler.lr_lambdas]
        self.scheduler.load_state_dict(state["scheduler"])  # (this overwrites the schedule's settings)
        self.scheduler.lr_lambdas = lambdas  # the schedule of the current settings
        for group, base, fn in zip(self.optimizer.param_groups, self.scheduler.base_lrs, lambdas):
            group["lr"] = base * fn(self.scheduler.last_epoch)
        self.epoch = int(state["epoch"])
        self.batch = int(state["batch"])
        self.global_step = int(state["global_step"])
        self.elapsed = float(state.get("elapsed", 0.0))
        self.metrics = [dict(r) for r in state.get("metrics", [])]
        ranks = state["ranks"]
        if len(ranks) != self.dist.world_size:
            log.warning("the checkpoint was written by %d processes, this run has %d: random streams and "
                        "metric sums restart, so the run will not match the original exactly",
                        len(ranks), self.dist.world_size)
            mine = ranks[0] if self.dist.is_main else None
        else:
            mine = ranks[self.dist.rank]
        if mine is not None:
            set_rng_state(mine["rng"])
            self._acc = {**_zero_acc(), **{k: float(v) for k, v in mine["accumulators"].items()}}
            self.monitor.load_state_dict(mine["monitor"])

    def save_checkpoint(self, path: str | Path | None = None) -> Path | None:
        """Write :meth:`state_dict` atomically (rank 0 only); default ``out_dir/checkpoint.pt``."""
        path = self.checkpoint_path if path is None else Path(path)
        if path is None:
            return None
        state = self.state_dict()
        if self.dist.is_main:
            save_checkpoint(state, path)
            log.debug("checkpoint: epoch %d, batch %d -> %s", self.epoch, self.batch, path)
        return path

    def load_checkpoint(self, path: str | Path | None = None) -> dict[str, Any]:
        """Read a checkpoint (``weights_only=True``) and restore it; returns the raw state."""
        path = self.checkpoint_path if path is None else Path(path)
        if path is None:
            raise ValueError("no checkpoint path: give one, or build the trainer with out_dir")
        state = load_checkpoint(path, map_location=self.device)
        self.load_state_dict(state)
        log.info("resumed from %s: epoch %d, batch %d (step %d)", path, self.epoch + 1, self.batch,
                 self.global_step)
        return state


def _format_row(row: Mapping[str, Any]) -> str:
    parts = []
    for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "train_rate_hz"):
        value = row.get(key)
        if value is None:
            continue
        parts.append(f"{key}={value:.2%}" if key.endswith("accuracy") else f"{key}={value:.4g}")
    return ", ".join(parts)


def summarize(rows: Sequence[Mapping[str, Any]]) -> str:
    """One line per epoch row (for logs and the command line)."""
    return "\n".join(f"epoch {r['epoch']}: {_format_row(r)}" for r in rows)
