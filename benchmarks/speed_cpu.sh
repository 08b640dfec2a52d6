#!/usr/bin/env bash
# The CPU speed benchmark of issue 3, as recorded in benchmarks/RESULTS.md.
# Run it in an environment with the peers (`pip install -e ".[anchors]"` beside
# torch==2.14.1 torchvision==0.29.1; see RESULTS.md). Every library runs the same work
# in this one process, one after another.
set -euo pipefail
THREADS=${THREADS:-2}
OUT=${OUT:-benchmarks/out}
mkdir -p "$OUT"
PEERS=torch_loop,snntorch,spikingjelly,spikingjelly:compiled,norse,norse:compiled,spikeforge:torch,spikeforge:cpu
common=(--threads "$THREADS" --wait-quiet 60 --busy-retries 1)

# neuron only (input current given)
python -m spikeforge.bench.speed "${common[@]}" --kinds lif --libraries "$PEERS" \
  --shape 100,16,4096 --shape 500,16,1024 --json "$OUT/lif.json" | tee "$OUT/lif.txt"
python -m spikeforge.bench.speed "${common[@]}" --kinds lif --libraries "$PEERS" --repeats 3 \
  --shape 100,64,16384 --json "$OUT/lif_large.json" | tee "$OUT/lif_large.txt"
# Linear(N, N) + LIF, T = 500, B = 16 (the CPU sizes of the Open Neuromorphic benchmark):
# GEMMs are ~97 % of every library's step, so the libraries are timed in rounds (--interleave)
python -m spikeforge.bench.speed --threads "$THREADS" --wait-quiet 60 --interleave --kinds linear_lif --repeats 5 \
  --libraries torch_loop,snntorch,spikingjelly,norse,spikeforge:torch,spikeforge:cpu \
  --shape 500,16,1024 --shape 500,16,4096 --json "$OUT/linear_lif.json" | tee "$OUT/linear_lif.txt"
# the SRNN layer
python -m spikeforge.bench.speed "${common[@]}" --kinds srnn --repeats 3 \
  --libraries torch_loop,snntorch,spikingjelly,norse,spikeforge:torch,spikeforge:cpu \
  --shape 1301,64,36,4 --shape 784,64,256,1 --json "$OUT/srnn.json" | tee "$OUT/srnn.txt"
