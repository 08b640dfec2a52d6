#!/usr/bin/env bash
# The accuracy runs of issue 4, as recorded in benchmarks/RESULTS.md: each recipe trained by
# `spikeforge train` on the real data (the shared folder holds MNIST and the QTDB ECG set),
# its report.txt and metrics.csv written under $OUT. EPOCHS_MNIST shortens the MNIST run
# (the recipe's own 15 epochs take hours on 2 CPU cores).
set -euo pipefail
DATA=${DATA:-../shared/data}
OUT=${OUT:-benchmarks/out/accuracy}
THREADS=${THREADS:-1}
EPOCHS_MNIST=${EPOCHS_MNIST:-2}
mkdir -p "$OUT"
common=(--data-dir "$DATA" --threads "$THREADS" --no-progress)
# the README's default: bundled 8x8 digits, no network
spikeforge train digits-scnn "${common[@]}" --out "$OUT/digits" | tee "$OUT/digits.log"
# ECG wave segmentation, Yin et al.'s adaptive SRNN (36 neurons), their 400 epochs
spikeforge train ecg-srnn "${common[@]}" --out "$OUT/ecg" | tee "$OUT/ecg.log"
# MNIST spiking CNN, shortened to EPOCHS_MNIST epochs (cosine schedule over them)
spikeforge train mnist-scnn "${common[@]}" --out "$OUT/mnist" --set train.epochs="$EPOCHS_MNIST" \
  | tee "$OUT/mnist.log"
# int8 / int4 quantization of that checkpoint (issue 7)
python benchmarks/hardware/quantize_accuracy.py "$OUT/mnist/checkpoint.pt" --data-dir "$DATA" \
  | tee "$OUT/quantize.log"
