"""Train a spiking network from a recipe, then report on it.

With no RECIPE it runs the default, digits-scnn: the 8x8 digits bundled with
scikit-learn (no download), a small spiking CNN, about a minute on 2 CPU cores.
RECIPE is a shipped name (see 'spikeforge recipes') or the path of a YAML file;
--set overrides any setting by its dotted path, e.g.

  spikeforge train mnist-scnn --data-dir ~/data --set train.epochs=3 --set model.num_steps=8

Into --out (default ./spikeforge-runs/RECIPE) go checkpoint.pt (written atomically
after every epoch, loadable with torch.load(weights_only=True)), metrics.csv,
recipe.yaml, and after training curves.png (learning curves), raster.png (the
spikes of every layer for one test sample) and report.txt (test accuracy, firing
rate per layer, spikes per inference). --resume continues the run in --out from its
checkpoint, exactly as if it had not stopped. --nproc N trains data-parallel on N
local processes (the global batch is split between them); under torchrun the
processes come from torchrun instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..learning.trainer import Callback
from ._args import positive_int

NAME = "train"
HELP = "train a spiking network from a recipe (default: digits-scnn, ~1 min on a CPU)"

RUNS_DIR = Path("spikeforge-runs")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", nargs="?", default=None, metavar="RECIPE",
                        help="a shipped recipe name or a YAML file (default: digits-scnn)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe setting by its dotted path, e.g. train.epochs=3 (repeatable)")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help="folder of the data files (default: $SPIKEFORGE_DATA or ~/.cache/spikeforge)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help="folder for the checkpoint, metrics and report (default: ./spikeforge-runs/RECIPE)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its checkpoint (the recipe comes from the checkpoint)")
    parser.add_argument("--nproc", type=positive_int, default=1, metavar="N",
                        help="data-parallel training on N local processes (default: 1)")
    parser.add_argument("--device", default="auto", metavar="DEV",
                        help="cpu, cuda, cuda:1 ... (default: auto, CUDA when available)")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="torch CPU threads per process (default: torch's choice; the cores / N with --nproc)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-report", action="store_true", help="skip the figures and report after training")


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; expected cpu, cuda, cuda:N or auto") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but this torch sees no CUDA GPU")
    return str(device)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except ImportError as exc:
        print(f"spikeforge train: error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from ..learning.checkpoint import load_checkpoint
    from ..recipes import DEFAULT_RECIPE, apply_overrides, load_recipe, validate_recipe

    device = resolve_device(args.device)
    main_process = int(os.environ.get("RANK", "0")) == 0  # under torchrun every process runs this
    if args.resume:
        out = args.out or RUNS_DIR / (Path(args.recipe).stem if args.recipe else DEFAULT_RECIPE)
        ckpt_path = out / "checkpoint.pt"
        state = load_checkpoint(ckpt_path)
        recipe = (state.get("extra") or {}).get("recipe")
        if recipe is None:
            raise ValueError(f"{ckpt_path} holds no recipe (not written by 'spikeforge train'); resume it with "
                             "the Trainer API instead")
        if args.recipe is not None and Path(args.recipe).stem != recipe.get("name"):
            raise ValueError(f"{ckpt_path} is a run of recipe {recipe.get('name')!r}, not {args.recipe!r}")
        recipe = validate_recipe(apply_overrides(recipe, args.overrides))
        if state.get("finished") and not args.overrides:
            if main_process:
                print(f"spikeforge train: {ckpt_path} is a finished run ({state['epoch']} epochs); "
                      "nothing to resume (raise train.epochs with --set to train on)")
            return 0
        del state
    else:
        recipe = load_recipe(args.recipe, args.overrides)
        out = args.out or RUNS_DIR / recipe["name"]
        if (out / "checkpoint.pt").exists() and main_process:
            print(f"note: {out / 'checkpoint.pt'} exists and will be replaced (use --resume to continue it)")
    job = {"recipe": recipe, "out": str(out), "data_dir": None if args.data_dir is None else str(args.data_dir),
           "device": device, "resume": bool(args.resume), "progress": not args.no_progress,
           "report": not args.no_report, "threads": args.threads}
    if main_process:
        print(f"spikeforge train: recipe {recipe['name']} -> {out}/ ({device}"
              f"{f', {args.nproc} processes' if args.nproc > 1 else ''})")
    # plasticity models (STDP, BP-STDP) run their own phases in one process, not the gradient trainer
    from ..recipes.build import plasticity_runner

    runner = plasticity_runner(recipe)
    if runner is not None:
        if args.nproc > 1 or int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ValueError(f"recipe {recipe['name']} trains with plasticity, one image after the other; "
                             "it runs in one process (drop --nproc / torchrun)")
        runner(job)
        return 0
    if args.nproc > 1:
        from ..learning.distributed import launch

        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ValueError("--nproc cannot be used under torchrun (torchrun already started the processes)")
        if device.startswith("cuda"):
            import torch

            if torch.cuda.device_count() < args.nproc:
                raise ValueError(f"--nproc {args.nproc} on CUDA needs {args.nproc} GPUs, "
                                 f"this machine has {torch.cuda.device_count()}")
        launch(train_job, args.nproc, job, device=device, threads=args.threads)
    else:
        train_job(job)
    return 0


def train_job(job: dict[str, Any]) -> dict[str, Any] | None:
    """One process's part of a training run (``job`` is plain data, so it crosses ``spawn``)."""
    import torch

    from ..learning import Trainer, dist_info, init_from_env
    from ..recipes import build_run, dump_recipe

    created = init_from_env(job["device"])  # under torchrun
    info = dist_info()
    if job["device"].startswith("cuda") and info.active:
        job = {**job, "device": f"cuda:{info.local_rank}"}
    if job.get("threads"):
        torch.set_num_threads(job["threads"])
    try:
        recipe, out = job["recipe"], Path(job["out"])
        run = build_run(recipe, data_dir=job["data_dir"])
        callbacks = [_EpochPrinter(run.config.epochs)] if info.is_main else []
        trainer = Trainer(run.model, run.train_data, test_data=run.test_data, objective=run.objective,
                          rule=run.rule, config=run.config, collate_fn=run.collate_fn, device=job["device"],
                          out_dir=out, progress=job["progress"], callbacks=callbacks, extra={"recipe": recipe})
        if info.is_main:
            out.mkdir(parents=True, exist_ok=True)
            (out / "recipe.yaml").write_text(dump_recipe(recipe), encoding="utf-8")
            n_params = sum(p.numel() for p in run.model.parameters())
            print(f"data: {recipe['data']['name']}, {len(run.train_data)} training / {len(run.test_data)} test "
                  f"samples; model: {recipe['model']['name']} ({n_params:,} parameters); "
                  f"{run.config.epochs} epochs of {trainer.steps_per_epoch} batches of {run.config.batch_size}")
        if job["resume"]:
            trainer.load_checkpoint()
            if info.is_main:
                print(f"resumed at epoch {trainer.epoch + 1}, batch {trainer.batch} (step {trainer.global_step})")
        start = time.perf_counter()
        trainer.fit()
        wall = time.perf_counter() - start
        with trainer.evaluation_weights():  # the report describes the weights it evaluates
            result = trainer.evaluate()  # collective in a data-parallel run
            if info.is_main:
                _finish(trainer, run, recipe, out, result, wall, job["report"])
        return None
    finally:
        if created:
            torch.distributed.destroy_process_group()


class _EpochPrinter(Callback):
    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        parts = [f"epoch {row['epoch']:>{len(str(self.epochs))}}/{self.epochs}"]
        if row.get("train_loss") is not None:
            parts.append(f"loss {row['train_loss']:.4f}")
        if row.get("train_accuracy") is not None:
            parts.append(f"train {row['train_accuracy']:.2%}")
        if row.get("test_accuracy") is not None:
            parts.append(f"test {row['test_accuracy']:.2%}")
        rate = row.get("train_rate_hz")
        if rate is not None:
            parts.append(f"rate {rate:.1f} Hz")
        elif row.get("train_rate") is not None:
            parts.append(f"rate {row['train_rate']:.4f}/step")
        parts.append(f"lr {row['lr']:.2e}")
        parts.append(f"{row['epoch_time_s']:.1f} s")
        print("  ".join(parts), flush=True)


def _finish(trainer: Any, run: Any, recipe: dict, out: Path, result: dict, wall: float, report: bool) -> None:
    from ..learning.report import activity_report, format_layers, write_text

    acc = result["accuracy"]
    resumed = f" ({trainer.elapsed:.1f} s over all sessions of the run)" if trainer.elapsed > wall + 1 else ""
    print(f"\ntest accuracy {acc:.2%} on {result['samples']} samples; training took {wall:.1f} s{resumed}")
    print(format_layers(result["layers"], result["samples"]))
    written = [out / "checkpoint.pt", out / "metrics.csv"]
    if report:
        text = activity_report(result, name=recipe["name"], rows=trainer.metrics,
                               extra_lines=[f"recipe:               {recipe['name']} (seed {recipe['seed']})",
                                            f"wall time:            {wall:.1f} s (this session)"],
                               sections=_energy(trainer, run))
        written.append(write_text(out / "report.txt", text))
        written += _figures(trainer, run, recipe, out)
    print("wrote " + ", ".join(str(p) for p in written))


def _energy(trainer: Any, run: Any) -> list[str]:
    """The energy table for report.txt (spikeforge.hardware.energy), or a line saying why it is missing."""
    try:
        from ..hardware.energy import energy_section

        return [energy_section(trainer.model, run.test_data, collate_fn=run.collate_fn, device=trainer.device)]
    except Exception as exc:  # the report must not fail a finished training run
        return [f"operations and energy: skipped ({type(exc).__name__}: {exc})"]


def _figures(trainer: Any, run: Any, recipe: dict, out: Path) -> list[Path]:
    try:
        from ..viz._figure import require_matplotlib

        require_matplotlib()
    except ImportError:
        print("figures: skipped, matplotlib is missing; pip install 'spikeforge[viz]' for curves.png and raster.png")
        return []
    from ..learning.report import learning_curves, sample_raster
    from ..viz import save_figure

    paths = [save_figure(learning_curves(trainer.metrics, title=f"{recipe['name']}: learning curves"),
                         out / "curves.png")]
    x, y = _first_test_sample(run, trainer.device)
    label = None if trainer.objective.per_step or not y.numel() else int(y.reshape(-1)[0].item())
    paths.append(save_figure(sample_raster(trainer.model, x, label=label, objective=trainer.objective,
                                           title=f"{recipe['name']}: test sample 0"), out / "raster.png"))
    return paths


def _first_test_sample(run: Any, device: Any) -> tuple[Any, Any]:
    collate = run.collate_fn
    from torch.utils.data import default_collate

    x, y = (collate or default_collate)([run.test_data[0]])
    return x.to(device), y
