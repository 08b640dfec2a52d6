"""Recipe runs of the models that train themselves with plasticity (not a gradient trainer).

:func:`run_recipe` is what ``spikeforge train stdp-mnist`` / ``bpstdp-mnist`` call (through
:func:`spikeforge.recipes.build.plasticity_runner`). The phases:

- :class:`~spikeforge.models.DiehlCook` (unsupervised): ``train.epochs`` passes over the
  training images in order with STDP (the running accuracy of Diehl & Cook's code is
  printed: neurons are assigned on each block of 10,000 training images and score the next
  block); then **assignment** (the frozen network's responses to the whole training set
  give each neuron its class) and **test** (all-activity voting on the test set);
- :class:`~spikeforge.models.BPSTDPNet` (supervised): ``train.epochs`` online passes over the
  training images in a shuffled order (seeded by the recipe's seed and the epoch), each
  followed by the test accuracy.

Into ``--out`` go ``checkpoint.pt`` (tensors and plain data, written atomically every
``CHECKPOINT_IMAGES`` training images and at the end; ``--resume`` continues from it and
ends with the same weights as an uninterrupted run), ``metrics.csv``, ``recipe.yaml``,
``report.txt`` and the pictures (``receptive_fields.png``, ``assignments.png`` for
Diehl & Cook; ``curves.png`` for BP-STDP).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Dataset, Subset

__all__ = ["run_recipe", "dataset_arrays", "CHECKPOINT_IMAGES"]

CHECKPOINT_IMAGES = 5000
"""Training images between checkpoints."""
BLOCK = 10000
"""Training images per block of the Diehl & Cook running accuracy."""


def dataset_arrays(dataset: Dataset) -> tuple[Tensor, Tensor]:
    """``(images, labels)`` of a map-style image data set: uint8 ``[N, ...]`` when the data set
    holds them (MNIST, also under ``Subset``), else its items stacked (floats in ``[0, 1]``)."""
    indices = None
    base = dataset
    while isinstance(base, Subset):
        idx = torch.as_tensor(list(base.indices), dtype=torch.long)
        indices = idx if indices is None else indices[idx]
        base = base.dataset
    data, targets = getattr(base, "data", None), getattr(base, "targets", None)
    if isinstance(data, Tensor) and data.dtype == torch.uint8 and isinstance(targets, Tensor):
        if indices is not None:
            return data[indices], targets[indices]
        return data, targets
    items = [dataset[i] for i in range(len(dataset))]
    images = torch.stack([torch.as_tensor(x, dtype=torch.float32) for x, _ in items])
    return images.clamp(0, 1), torch.as_tensor([int(y) for _, y in items])


def _say(main: bool, text: str) -> None:
    if main:
        print(text, flush=True)


def run_recipe(job: dict[str, Any]) -> dict[str, Any]:
    """Run a plasticity recipe (``job`` as built by ``spikeforge train``); returns the final metrics."""
    import numba

    from ..learning.checkpoint import load_checkpoint
    from ..recipes.build import build_datasets, build_model_from
    from ..recipes.loader import dump_recipe
    from .bp_stdp_mlp import BPSTDPNet
    from .diehl_cook import DiehlCook

    recipe, out = job["recipe"], Path(job["out"])
    if job.get("threads"):
        numba.set_num_threads(min(job["threads"], numba.config.NUMBA_NUM_THREADS))
        torch.set_num_threads(job["threads"])  # after numba's: starting its OpenMP layer resets torch's
    train_data, test_data = build_datasets(recipe, data_dir=job.get("data_dir"))
    model = build_model_from(recipe, train_data)
    x_train, y_train = dataset_arrays(train_data)
    x_test, y_test = dataset_arrays(test_data)
    out.mkdir(parents=True, exist_ok=True)
    (out / "recipe.yaml").write_text(dump_recipe(recipe), encoding="utf-8")
    resume = load_checkpoint(out / "checkpoint.pt") if job.get("resume") else None
    print(f"data: {recipe['data']['name']}, {len(x_train)} training / {len(x_test)} test images; model: "
          f"{recipe['model']['name']} ({type(model).__name__}, {sum(b.numel() for b in model.buffers()):,} "
          f"values); {recipe['train']['epochs']} epochs", flush=True)
    if isinstance(model, DiehlCook):
        return _diehl_cook(job, recipe, out, model, x_train, y_train, x_test, y_test, resume)
    if isinstance(model, BPSTDPNet):
        return _bp_stdp(job, recipe, out, model, x_train, y_train, x_test, y_test, resume)
    raise TypeError(f"{type(model).__name__} is not a plasticity model")


def _save(out: Path, model: Any, recipe: dict, **state: Any) -> None:
    from ..learning.checkpoint import save_checkpoint

    save_checkpoint({"model": model.state_dict(), "extra": {"recipe": recipe}, **state}, out / "checkpoint.pt")


def _restore_state(saved: Any) -> Any:
    from .diehl_cook import DiehlCookState

    if saved is None:
        return None
    return DiehlCookState(saved["neurons"], saved["refractory"], saved["r1"], saved["r2"], saved["last"],
                          int(saved["step"]))


def _diehl_cook(job, recipe, out, model, x, y, xt, yt, resume) -> dict[str, Any]:
    from ..learning.metrics import write_metrics_csv

    epochs = int(recipe["train"]["epochs"])
    n = len(x)
    state, epoch, pos, rows, elapsed = None, 0, 0, [], 0.0
    running: dict[str, Any] = {"block": [], "prev": None}
    if resume is not None:
        model.load_state_dict(resume["model"])
        state = _restore_state(resume.get("network_state"))
        epoch, pos, rows, elapsed = int(resume["epoch"]), int(resume["position"]), list(resume["metrics"]), \
            float(resume.get("elapsed_s", 0.0))
        print(f"resumed at epoch {epoch + 1}, image {pos}", flush=True)
    start = time.perf_counter()
    last_save = pos
    while epoch < epochs and not (resume is not None and resume.get("trained")):
        spikes, tries, seen = 0, 0, 0
        t_epoch = time.perf_counter()
        while pos < n:
            hi = min(n, pos + min(1000, CHECKPOINT_IMAGES))
            counts, state = model.train_images(x[pos:hi], state=state, epoch=epoch,
                                                indices=torch.arange(pos, hi), chunk=hi - pos)
            spikes += int(counts.sum())
            tries += int(model.last_tries.sum())
            seen += hi - pos
            _running_accuracy(model, running, counts, y[pos:hi], epoch, hi, n, t_epoch)
            pos = hi
            if pos - last_save >= CHECKPOINT_IMAGES or pos == n:
                done = pos == n
                _save(out, model, recipe, epoch=epoch + (1 if done else 0), position=0 if done else pos,
                      metrics=rows, finished=False, elapsed_s=elapsed + time.perf_counter() - start,
                      network_state=state._asdict())
                last_save = pos
        row = {"epoch": epoch + 1, "train_images": seen, "epoch_time_s": time.perf_counter() - t_epoch,
               "train_spikes_per_image": spikes / max(seen, 1), "retries_per_image": tries / max(seen, 1),
               "running_accuracy": running.get("last"), "elapsed_s": elapsed + time.perf_counter() - start}
        rows.append(row)
        print(f"epoch {epoch + 1}/{epochs}  running accuracy {_pct(row['running_accuracy'])}  "
              f"{row['train_spikes_per_image']:.1f} spikes/image  {row['retries_per_image']:.2f} retries/image  "
              f"{row['epoch_time_s']:.1f} s", flush=True)
        epoch, pos, last_save = epoch + 1, 0, 0
        write_metrics_csv(rows, out / "metrics.csv")
    train_time = elapsed + time.perf_counter() - start
    _save(out, model, recipe, epoch=epochs, position=0, metrics=rows, finished=False, trained=True,
          elapsed_s=train_time, network_state=None if state is None else state._asdict())
    t0 = time.perf_counter()
    model.assign(model.respond(x, offset=1_000_000), y)
    assign_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    test_counts = model.respond(xt, offset=2_000_000)
    accuracy = float((model.predict(test_counts) == yt).float().mean()) if len(xt) else float("nan")
    test_time = time.perf_counter() - t0
    per_class = torch.bincount(model.assignments[model.assignments >= 0], minlength=model.num_classes).tolist()
    final = {"epoch": epochs, "test_accuracy": accuracy, "assign_time_s": assign_time, "test_time_s": test_time,
             "test_spikes_per_image": float(test_counts.sum(1).float().mean()) if len(xt) else 0.0,
             "elapsed_s": train_time}
    rows.append(final)
    write_metrics_csv(rows, out / "metrics.csv")
    _save(out, model, recipe, epoch=epochs, position=0, metrics=rows, finished=True, trained=True,
          elapsed_s=train_time, network_state=None if state is None else state._asdict())
    print(f"\nassignment on {len(x)} training images ({assign_time:.1f} s): neurons per class {per_class}, "
          f"{int((model.assignments < 0).sum())} unassigned")
    print(f"test accuracy {accuracy:.2%} on {len(xt)} images ({test_time:.1f} s); training took {train_time:.1f} s")
    if job.get("report", True):
        _diehl_cook_report(out, recipe, model, rows, final, per_class)
    return final


def _running_accuracy(model, running, counts, labels, epoch, done, n, t_epoch) -> None:
    """Diehl & Cook's training-time accuracy: assign on one block of 10,000, score the next."""
    from .diehl_cook import assign_labels, vote

    running["block"].append((counts, labels))
    size = sum(len(c) for c, _ in running["block"])
    if size < BLOCK and done < n:
        return
    block_counts = torch.cat([c for c, _ in running["block"]])
    block_labels = torch.cat([lab for _, lab in running["block"]])
    running["block"] = []
    if running["prev"] is not None:
        running["last"] = float((vote(block_counts, running["prev"], model.num_classes) == block_labels)
                                .float().mean())
    running["prev"] = assign_labels(block_counts, block_labels, model.num_classes)[0]
    rate = done / max(time.perf_counter() - t_epoch, 1e-9)
    print(f"  epoch {epoch + 1}: {done}/{n} images, running accuracy {_pct(running.get('last'))}, "
          f"{rate:.0f} images/s", flush=True)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _diehl_cook_report(out, recipe, model, rows, final, per_class) -> None:
    from ..learning.report import write_text

    c = model.config
    lines = [f"spikeforge run report: {recipe['name']}", "",
             f"model:                Diehl & Cook (2015), {model.n_neurons} excitatory + inhibitory neurons, "
             f"{c['synapse']} synapses, {c['inhibition']} inhibition",
             f"protocol:             {c['t_present'] * 1e3:g} ms presentation + {c['t_rest'] * 1e3:g} ms rest, "
             f"dt {c['dt'] * 1e3:g} ms, rates up to {c['max_rate']:g} Hz",
             f"test accuracy:        {final['test_accuracy']:.2%}",
             f"test spikes/image:    {final['test_spikes_per_image']:.1f}",
             f"epochs:               {final['epoch']} ({final['elapsed_s']:.1f} s of training)",
             f"neurons per class:    {per_class} ({int((model.assignments < 0).sum())} unassigned)", ""]
    for row in rows[:-1]:
        lines.append(f"epoch {row['epoch']}: {row['train_images']} images in {row['epoch_time_s']:.1f} s, "
                     f"running accuracy {_pct(row['running_accuracy'])}, "
                     f"{row['retries_per_image']:.2f} retries/image")
    write_text(out / "report.txt", "\n".join(lines) + "\n")
    written = [out / "report.txt"]
    try:
        from ..viz import assignment_counts, receptive_fields, save_figure

        written.append(save_figure(receptive_fields(model, title=f"{recipe['name']}: receptive fields"),
                                   out / "receptive_fields.png"))
        written.append(save_figure(assignment_counts(model), out / "assignments.png"))
    except ImportError:
        print("figures: skipped, matplotlib is missing; pip install 'spikeforge[viz]'")
    print("wrote " + ", ".join(str(p) for p in written))


def _bp_stdp(job, recipe, out, model, x, y, xt, yt, resume) -> dict[str, Any]:
    from ..learning.metrics import write_metrics_csv

    epochs = int(recipe["train"]["epochs"])
    seed = int(recipe["seed"])
    n = len(x)
    epoch, pos, rows, elapsed = 0, 0, [], 0.0
    if resume is not None:
        model.load_state_dict(resume["model"])
        epoch, pos, rows, elapsed = int(resume["epoch"]), int(resume["position"]), list(resume["metrics"]), \
            float(resume.get("elapsed_s", 0.0))
        print(f"resumed at epoch {epoch + 1}, image {pos}", flush=True)
    start = time.perf_counter()
    while epoch < epochs:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1000003 + epoch))
        t_epoch = time.perf_counter()
        right = 0
        last_save = pos
        while pos < n:
            hi = min(n, pos + min(1000, CHECKPOINT_IMAGES))
            idx = order[pos:hi]
            counts = model.train_images(x[idx], y[idx], epoch=epoch, indices=idx)
            right += int((counts.argmax(1) == y[idx]).sum())
            pos = hi
            if pos - last_save >= CHECKPOINT_IMAGES and pos < n:
                _save(out, model, recipe, epoch=epoch, position=pos, metrics=rows, finished=False,
                      elapsed_s=elapsed + time.perf_counter() - start)
                last_save = pos
        train_time = time.perf_counter() - t_epoch
        test_counts = model.respond(xt, epoch=epoch, offset=1_000_000)
        accuracy = float((test_counts.argmax(1) == yt).float().mean()) if len(xt) else float("nan")
        row = {"epoch": epoch + 1, "train_accuracy": right / max(n, 1) if resume is None else None,
               "test_accuracy": accuracy, "epoch_time_s": train_time,
               "elapsed_s": elapsed + time.perf_counter() - start}
        rows.append(row)
        print(f"epoch {epoch + 1}/{epochs}  train {_pct(row['train_accuracy'])}  test {accuracy:.2%}  "
              f"{train_time:.1f} s ({n / max(train_time, 1e-9):.0f} images/s)", flush=True)
        epoch, pos, resume = epoch + 1, 0, None
        write_metrics_csv(rows, out / "metrics.csv")
        _save(out, model, recipe, epoch=epoch, position=0, metrics=rows, finished=epoch == epochs,
              elapsed_s=elapsed + time.perf_counter() - start)
    final = rows[-1] if rows else {"test_accuracy": float("nan")}
    total = elapsed + time.perf_counter() - start
    print(f"\ntest accuracy {final['test_accuracy']:.2%} on {len(xt)} images; training took {total:.1f} s")
    if job.get("report", True):
        _bp_stdp_report(out, recipe, model, rows, total)
    return final


def _bp_stdp_report(out, recipe, model, rows, total) -> None:
    from ..learning.report import learning_curves, write_text

    best = max(rows, key=lambda r: r["test_accuracy"]) if rows else None
    lines = [f"spikeforge run report: {recipe['name']}", "",
             f"model:                BP-STDP IF network {'-'.join(map(str, model.sizes))}, "
             f"{model.config['num_steps']} steps per image",
             f"test accuracy:        {rows[-1]['test_accuracy']:.2%}" if rows else "test accuracy: -",
             f"best test accuracy:   {best['test_accuracy']:.2%} (epoch {best['epoch']})" if best else "",
             f"epochs:               {len(rows)} ({total:.1f} s of training)", ""]
    write_text(out / "report.txt", "\n".join(lines) + "\n")
    written = [out / "report.txt"]
    try:
        from ..viz import save_figure

        curves = [{**r, "train_loss": None} for r in rows]
        written.append(save_figure(learning_curves(curves, title=f"{recipe['name']}: accuracy"), out / "curves.png"))
    except ImportError:
        print("figures: skipped, matplotlib is missing; pip install 'spikeforge[viz]'")
    print("wrote " + ", ".join(str(p) for p in written))



def evaluate_trained(model: Any, dataset: Dataset, *, epoch: int = 0) -> dict[str, Any]:
    """Test accuracy of a trained plasticity model on ``dataset`` (``spikeforge eval``).

    The Diehl & Cook network votes with its stored assignments (all-activity voting); the
    BP-STDP network's class is its output neuron with the most spikes. The Poisson input
    is seeded as in the run's own test (``offset`` 2,000,000 and 1,000,000), so a finished
    run's checkpoint gives the accuracy its report printed."""
    from .diehl_cook import DiehlCook

    images, labels = dataset_arrays(dataset)
    if isinstance(model, DiehlCook):
        if bool((model.assignments < 0).all()):
            raise ValueError("the Diehl & Cook checkpoint has no label assignment yet (the run stopped "
                             "before its assignment phase); finish it with 'spikeforge train --resume'")
        counts = model.respond(images, offset=2_000_000)
        predicted = model.predict(counts)
    else:
        counts = model.respond(images, epoch=epoch, offset=1_000_000)
        predicted = counts.argmax(1)
    accuracy = float((predicted == labels).float().mean()) if len(labels) else float("nan")
    return {"accuracy": accuracy, "samples": len(labels), "spikes_per_sample": float(counts.sum(1).float().mean())}
