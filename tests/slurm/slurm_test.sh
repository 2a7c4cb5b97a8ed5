#!/usr/bin/env bash
# slurm_test.sh DTSIM_BINARY SCENARIO_DIR
#
# Brings up a real single-node Slurm (slurmctld + slurmd + a private munged) on localhost, all of it
# inside one temp dir, and checks that `dtsim sweep --emit slurm` runs there as a job array and gives
# the same runs.csv as the same sweep run locally (apart from wall_time_s).
#
# Exit codes: 0 passed, 1 failed, 77 skipped (ctest's SKIP_RETURN_CODE): Slurm or munge is not
# installed, or a daemon cannot start in this environment (its own log lines are printed).
# Environment: SLURM_TEST_BUDGET_S (default 270): every wait is bounded by what is left of it.
#              SLURM_TEST_KEEP=1 keeps the temp dir (its path is printed).
#              SLURM_TEST_ARRAY_ONLY=1 stops after the trivial job array (no dtsim needed).
set -euo pipefail

readonly budget_s=${SLURM_TEST_BUDGET_S:-270}
readonly start_s=$SECONDS
readonly array_only=${SLURM_TEST_ARRAY_ONLY:-0}

say() { echo "slurm_test: $*"; }
skip() {
  say "SKIP: $*"
  exit 77
}
fail() {
  say "FAIL: $*" >&2
  exit 1
}
# Seconds left of the whole budget, capped at $1.
left() {
  local rest=$((budget_s - (SECONDS - start_s)))
  ((rest > $1)) && rest=$1
  ((rest < 1)) && rest=1
  echo "$rest"
}

if [[ $array_only != 1 ]]; then
  [[ $# -eq 2 ]] || fail "usage: $0 DTSIM_BINARY SCENARIO_DIR"
  DTSIM=$1
  SCENARIO_DIR=$2
  [[ -x $DTSIM ]] || fail "dtsim binary '$DTSIM' is not executable"
  [[ -f $SCENARIO_DIR/quickstart.yaml ]] || fail "no quickstart.yaml in '$SCENARIO_DIR'"
fi

for tool in slurmctld slurmd sbatch sinfo squeue scontrol scancel munged munge unmunge python3; do
  command -v "$tool" >/dev/null || skip "$tool not found (install slurm-wlm munge)"
done

# --- the private cluster's files: everything under one temp dir -------------------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dtsim-slurm.XXXXXX")
chmod 0755 "$tmp" # munged checks the socket's path; jobs read and write below
mkdir -m 0755 "$tmp/munge" # munged: not writable by others; clients need x
mkdir -m 0755 "$tmp/etc" "$tmp/state" "$tmp/spool" "$tmp/log" "$tmp/run" "$tmp/array"
munge_socket=$tmp/munge/munge.socket
# A Unix socket path is at most 107 bytes.
((${#munge_socket} < 100)) || skip "temp dir path too long for a Unix socket: $tmp (set TMPDIR)"

pids=()
watchdog=
# Each daemon's own output (stderr holds its log in the foreground, and what it said before opening
# its log file); its log file when stderr is empty.
dump_logs() {
  local name f
  for name in munged slurmctld slurmd; do
    f=$tmp/log/$name.out
    [[ -s $f ]] || f=$tmp/log/$name.log
    [[ -s $f ]] || continue
    echo "----- $name: $(basename "$f") (last 30 lines) -----"
    tail -n 30 "$f"
  done
}
cleanup() {
  local rc=$?
  set +e
  [[ -n $watchdog ]] && kill "$watchdog" 2>/dev/null
  if ((${#pids[@]})); then
    # Cancel what is left (only on a failure or a timeout), then stop the daemons: slurmd first.
    if [[ -n ${SLURM_CONF:-} ]]; then
      timeout 5 scancel --quiet --user="$(id -un)" 2>/dev/null
    fi
    local i pid
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
      kill -TERM "${pids[i]}" 2>/dev/null
    done
    for pid in "${pids[@]}"; do
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
    done
  fi
  if ((rc != 0 && rc != 77)); then dump_logs; fi
  if [[ ${SLURM_TEST_KEEP:-0} == 1 ]]; then
    say "kept $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts "$@" in the background (no stdin, output to log/$name.out) and records its pid.
start_daemon() {
  local name=$1
  shift
  "$@" </dev/null >"$tmp/log/$name.out" 2>&1 &
  pids+=($!)
}
# Fails the start of daemon $1 (pid $2) as a skip when it is gone: this environment cannot run it.
check_alive() {
  kill -0 "$2" 2>/dev/null && return 0
  wait "$2" 2>/dev/null || true
  dump_logs
  skip "$1 exited at start in this environment (logs above)"
}

# --- munge: a fresh key and our own socket, pid, log and seed files ---------------------------------
t0=$SECONDS
if command -v mungekey >/dev/null; then
  mungekey --create --keyfile="$tmp/munge/munge.key" --bits=1024 >/dev/null
else
  dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
fi
chmod 0400 "$tmp/munge/munge.key"
start_daemon munged munged --foreground --force --socket="$munge_socket" --key-file="$tmp/munge/munge.key" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/log/munged.log" --seed-file="$tmp/munge/munged.seed"
munged_pid=${pids[-1]}
deadline=$((SECONDS + $(left 15)))
until munge -n -S "$munge_socket" 2>/dev/null | unmunge -S "$munge_socket" >/dev/null 2>&1; do
  check_alive munged "$munged_pid"
  ((SECONDS < deadline)) || { dump_logs; skip "munged did not answer on $munge_socket in time (logs above)"; }
  sleep 0.2
done
say "munged up ($((SECONDS - t0)) s)"

# --- slurm.conf -------------------------------------------------------------------------------------
node=$(hostname -s)
cpus=$(nproc)
mem_mib=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
# slurmd marks a node INVAL when it has less memory than configured: leave it a margin.
mem_mib=$((mem_mib - mem_mib / 20 - 256))
((mem_mib > 256)) || skip "too little memory for a Slurm node (${mem_mib} MiB after the margin)"
# Free TCP ports, so that a system Slurm on 6817/6818 does not clash.
read -r ctld_port slurmd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
: >"$tmp/etc/plugstack.conf"
cat >"$tmp/etc/slurm.conf" <<EOF
# Generated by tests/slurm/slurm_test.sh: a one-node cluster on localhost.
ClusterName=dtsimtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$(id -un)
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
PlugStackConfig=$tmp/etc/plugstack.conf
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((mem_mib / cpus))
ReturnToService=2
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mib State=UNKNOWN
PartitionName=main Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$tmp/etc/slurm.conf

# --- slurmctld and slurmd ---------------------------------------------------------------------------
t0=$SECONDS
start_daemon slurmctld slurmctld -D -i -f "$SLURM_CONF"
ctld_pid=${pids[-1]}
deadline=$((SECONDS + $(left 30)))
until scontrol ping 2>/dev/null | grep -q 'is UP'; do
  check_alive slurmctld "$ctld_pid"
  ((SECONDS < deadline)) || { dump_logs; skip "slurmctld did not answer in time (logs above)"; }
  sleep 0.5
done
start_daemon slurmd slurmd -D -N "$node" -f "$SLURM_CONF"
slurmd_pid=${pids[-1]}

# A watchdog: if this script is killed outright (SIGKILL), stop the daemons and remove the temp dir.
(
  trap '' INT
  while kill -0 $$ 2>/dev/null; do sleep 1; done
  kill -KILL "${pids[@]}" 2>/dev/null
  [[ ${SLURM_TEST_KEEP:-0} == 1 ]] || rm -rf "$tmp"
) </dev/null >/dev/null 2>&1 &
watchdog=$!

deadline=$((SECONDS + $(left 60)))
while :; do
  state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
  [[ $state == idle ]] && break
  check_alive slurmctld "$ctld_pid"
  check_alive slurmd "$slurmd_pid"
  if [[ $state == inval* || $state == drain* ]] || ((SECONDS >= deadline)); then
    scontrol show node "$node" 2>&1 || true
    dump_logs
    skip "node $node is '${state:-absent}', not idle (node and logs above)"
  fi
  sleep 0.5
done
say "slurm up: node $node idle, $cpus CPUs, $mem_mib MiB ($((SECONDS - t0)) s)"
sinfo

# --- sanity: a trivial job array runs ---------------------------------------------------------------
t0=$SECONDS
# shellcheck disable=SC2016 # expanded by the job, not here
out=$(cd "$tmp/array" && timeout "$(left 60)" sbatch --wait --array=0-3 --time=1 --job-name=array-sanity \
  --wrap 'echo "task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID on $(hostname -s)" > out.$SLURM_ARRAY_TASK_ID') ||
  fail "the trivial job array did not complete (sbatch exit $?): $out"
echo "$out"
array_id=$(awk '/Submitted batch job/ {print $4}' <<<"$out")
for i in 0 1 2 3; do
  grep -qx "task $i of job $array_id on $node" "$tmp/array/out.$i" 2>/dev/null ||
    fail "array task $i wrote no expected out.$i: $(cat "$tmp/array/out.$i" 2>&1)"
done
cat "$tmp"/array/out.*
ls "$tmp/array"
left_over=$(squeue -h)
[[ -z $left_over ]] || fail "squeue not empty after sbatch --wait: $left_over"
for i in 0 1 2 3; do
  scontrol -o show job "${array_id}_$i" 2>/dev/null | grep -Eo 'JobId=[0-9]+ ArrayJobId=[0-9]+ ArrayTaskId=[0-9]+|JobState=[A-Z_]+|ExitCode=[0-9:]+' | paste -sd' '
done
say "the array runs: 4 tasks done, squeue empty ($((SECONDS - t0)) s)"

if [[ $array_only == 1 ]]; then
  say "SLURM_TEST_ARRAY_ONLY=1: stopping before the dtsim sweep"
  exit 0
fi

# --- the dtsim sweep through Slurm, then the same sweep locally -------------------------------------
t0=$SECONDS
sweep_args=(sweep "$SCENARIO_DIR/quickstart.yaml" --set training.rounds=2 --set platform.clients.count=20
  --set training.clients_per_round=5 --no-train
  --grid 'policies.aggregation=[{name: fedavg},{name: fedprox, mu: 0.01}]' --seeds 1-2)
readonly n_points=4 n_rounds=2
slurm_out=$tmp/slurm_sweep
local_out=$tmp/local_sweep

timeout "$(left 60)" "$DTSIM" "${sweep_args[@]}" --out "$slurm_out" --emit slurm ||
  fail "dtsim sweep --emit slurm failed (exit $?)"
[[ -f $slurm_out/sweep.sbatch ]] || fail "dtsim sweep --emit slurm wrote no $slurm_out/sweep.sbatch"
echo "----- sweep.sbatch -----"
cat "$slurm_out/sweep.sbatch"
echo "------------------------"
out=$(cd "$slurm_out" && timeout "$(left 150)" sbatch --wait sweep.sbatch 2>&1) ||
  fail "sbatch --wait sweep.sbatch failed (exit $?): $out"
echo "$out"
left_over=$(squeue -h)
[[ -z $left_over ]] || fail "squeue not empty after sbatch --wait: $left_over"
echo "squeue: empty"
echo "Slurm output files:"
(cd "$slurm_out" && find . -name 'slurm-*.out' | sort)
while IFS= read -r f; do
  if [[ -s $f ]]; then echo "--- ${f#"$slurm_out"/} (last 5 lines)"; tail -n 5 "$f"; fi
done < <(find "$slurm_out" -name 'slurm-*.out' | sort)
timeout "$(left 30)" "$DTSIM" collect "$slurm_out" || fail "dtsim collect $slurm_out failed (exit $?)"
[[ -f $slurm_out/runs.csv ]] || fail "dtsim collect wrote no $slurm_out/runs.csv"
say "slurm sweep done ($((SECONDS - t0)) s)"

t0=$SECONDS
timeout "$(left 120)" "$DTSIM" "${sweep_args[@]}" --out "$local_out" -j 2 || fail "local dtsim sweep failed (exit $?)"
[[ -f $local_out/runs.csv ]] || fail "the local sweep wrote no $local_out/runs.csv"
say "local sweep done ($((SECONDS - t0)) s)"

# Same rows apart from wall_time_s; every point's rounds.csv has the rounds asked for.
python3 - "$slurm_out" "$local_out" "$n_points" "$n_rounds" <<'EOF' || fail "the Slurm sweep differs from the local one (above)"
import csv, pathlib, sys

slurm, local, n_points, n_rounds = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ignored = {"wall_time_s"}
errors = []

def table(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0].keys()) if rows else []
    return header, rows

sh, sr = table(slurm / "runs.csv")
lh, lr = table(local / "runs.csv")
if sh != lh:
    errors.append(f"runs.csv headers differ:\n  slurm: {sh}\n  local: {lh}")
if len(sr) != n_points or len(lr) != n_points:
    errors.append(f"runs.csv rows: slurm {len(sr)}, local {len(lr)}, expected {n_points}")
for i, (a, b) in enumerate(zip(sr, lr)):
    for col in sh:
        if col not in ignored and a.get(col) != b.get(col):
            errors.append(f"runs.csv row {i + 1} column {col}: slurm {a.get(col)!r} != local {b.get(col)!r}")
for name, rows in (("slurm", sr), ("local", lr)):
    bad = [r for r in rows if r.get("status") != "ok"]
    if bad:
        errors.append(f"{name} runs.csv has points that did not end ok: {bad}")

rounds = sorted(p for p in slurm.rglob("rounds.csv"))
if len(rounds) != n_points:
    errors.append(f"slurm sweep: {len(rounds)} rounds.csv files, expected {n_points}: {[str(p) for p in rounds]}")
for p in rounds:
    _, rows = table(p)
    if len(rows) != n_rounds:
        errors.append(f"{p.relative_to(slurm)}: {len(rows)} rounds, expected {n_rounds}")

for e in errors:
    print("slurm_test:", e, file=sys.stderr)
if errors:
    sys.exit(1)
print(f"slurm_test: runs.csv equal apart from {sorted(ignored)}; {len(rounds)} points with {n_rounds} rounds each")
EOF

echo "----- combined runs.csv (Slurm) -----"
cat "$slurm_out/runs.csv"
say "PASS ($((SECONDS - start_s)) s in all)"
