#!/usr/bin/env bash
# The one command a GPU machine runs (DESIGN "Backend"): build with CUDA, then
#   1. the CUDA conformance tests (every Backend op on CUDA against the CPU reference; skip code 77 means
#      no usable device, which this script reports as a failure: it exists to run on one);
#   2. the quickstart with --backend cuda, and its learning columns against the CPU's;
#   3. the FedAvg paper's CNN (channels [32, 64], dense 512, padding 2: 1,663,370 parameters) on FedAvg
#      with 1,000 clients of 60 IID samples, E = 1, B = 10, at 100 and at 1,000 clients per round; the
#      target on an H100/H200 is <= 0.5 s per round at 1,000 clients per round.
# Writes its logs and a summary to ${OUT:-gpu_check_out}/ (the device tool brings $OUT back).
#
#     bench/gpu_check.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-gpu}"
out="${OUT:-gpu_check_out}"
mkdir -p "$out"
export PATH="/usr/local/cuda/bin:$PATH"
summary="$out/summary.md"
: > "$summary"
say() { echo "$*" | tee -a "$summary"; }

say "# gpu_check $(date -u +%FT%TZ) on $(hostname)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | sed 's/^/    /' | tee -a "$summary"
if ! cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >"$out/configure.log" 2>&1 ||
   ! cmake --build "$build" -j"$(nproc)" >"$out/build.log" 2>&1; then
  say "build FAILED (see build.log)"; tail -30 "$out/build.log"; exit 1
fi
say "built $build"

"$build/tests/test_cuda" >"$out/test_cuda.log" 2>&1
rc=$?
say "test_cuda: exit $rc ($(grep -E 'test cases:' "$out/test_cuda.log" | tail -1))"
[ "$rc" = 77 ] && say "  no usable CUDA device: $(head -1 "$out/test_cuda.log")"

dt="$build/dtsim"
for backend in cpu cuda; do
  "$dt" run scenarios/quickstart.yaml --backend "$backend" --out "$out/quickstart_$backend" --force --quiet \
    >"$out/quickstart_$backend.log" 2>&1
  say "quickstart --backend $backend: exit $? ($(tail -1 "$out/quickstart_$backend.log"))"
done
python3 - "$out" <<'PY' | tee -a "$summary"
import csv, sys
out = sys.argv[1]
rows = {b: list(csv.DictReader(open(f"{out}/quickstart_{b}/rounds.csv"))) for b in ("cpu", "cuda")}
worst = max(abs(float(c["train_loss"]) - float(g["train_loss"])) for c, g in zip(rows["cpu"], rows["cuda"]))
acc = [(r["round"], c["test_accuracy"], r["test_accuracy"]) for c, r in zip(rows["cpu"], rows["cuda"]) if r["test_accuracy"]]
print(f"quickstart cuda vs cpu: largest train_loss difference {worst:.2e}; last test accuracy cpu {acc[-1][1]} cuda {acc[-1][2]}")
PY

fedavg_cnn=(--set 'workload.model={name: cnn, channels: [32, 64], dense: 512, padding: 2}' --set workload.model.hidden=null
            --set platform.clients.count=1000 --set training.rounds=6 --set training.eval_every=0)
for k in 100 1000; do
  "$dt" run bench/reference_fedavg.yaml --backend cuda --out "$out/cnn_$k" --force --quiet "${fedavg_cnn[@]}" \
    --set training.clients_per_round=$k >"$out/cnn_$k.log" 2>&1
  rc=$?
  if [ "$rc" = 0 ]; then
    python3 - "$out/cnn_$k" "$k" <<'PY' | tee -a "$summary"
import csv, sys
run = next(csv.DictReader(open(f"{sys.argv[1]}/runs.csv")))
n = int(run["rounds_completed"])
print(f"FedAvg CNN, {sys.argv[2]} clients per round: {float(run['wall_time_s']) / n:.3f} s per round over {n} rounds"
      f" (wall {run['wall_time_s']} s, test accuracy {run['final_test_accuracy']})")
PY
  else
    say "FedAvg CNN, $k clients per round: exit $rc ($(tail -2 "$out/cnn_$k.log"))"
  fi
done
say "done"
