"""Export a trained network to NIR, the Neuromorphic Intermediate Representation.

CHECKPOINT is a checkpoint.pt written by 'spikeforge train'; the model is rebuilt from
the recipe stored in it, BatchNorm folded into the convolutions, and written to OUT
(NIR's HDF5 format, readable by nir.read, snnTorch, Norse, Lava and the neuromorphic
toolchains that speak NIR). Features NIR cannot express (adaptive thresholds, refractory
periods, reset by subtraction, max pooling) stop the export with the module and the
feature named; --extensions writes reset by subtraction and max pooling as the nearest
NIR node plus spikeforge metadata, which spikeforge's importer honours and other tools
ignore (they will run a different network, and a warning says where).

  spikeforge export spikeforge-runs/digits-scnn/checkpoint.pt digits.nir --extensions
  spikeforge train --set model.pooling=avg --set model.reset=zero   # a network NIR expresses as it is
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

NAME = "export"
HELP = "export a checkpoint to a NIR graph (out.nir)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, metavar="CHECKPOINT", help="a checkpoint.pt from 'spikeforge train'")
    parser.add_argument("out", type=Path, metavar="OUT", help="the NIR file to write (e.g. model.nir)")
    parser.add_argument("--extensions", action="store_true",
                        help="keep reset by subtraction and max pooling as spikeforge metadata instead of refusing")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help="folder of the data files, if the model's shape comes from its data set")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting of the stored recipe (repeatable)")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except ImportError as exc:
        print(f"spikeforge export: error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from ..hardware.nir import load_nir, save_nir
    from .report import load_trained

    model, recipe, _ = load_trained(args.checkpoint, args.overrides, args.data_dir, need_data=False)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    log = logging.getLogger("spikeforge.hardware.nir.export")
    log.addHandler(handler)
    try:
        path = save_nir(model, args.out, extensions=args.extensions)
    finally:
        log.removeHandler(handler)
    twin = load_nir(path)
    kinds = ", ".join(type(m).__name__ for m in twin)
    print(f"spikeforge export: {args.checkpoint} (recipe {recipe['name']}) -> {path} "
          f"({path.stat().st_size:,} bytes): {kinds}")
    return 0
