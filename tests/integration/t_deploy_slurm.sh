# shellcheck shell=sh
# nfs-setup/slurm-nodes.sbatch on a real one-machine Slurm cluster that
# this test starts (munged, slurmctld, slurmd on 127.0.0.1, a config of
# its own in $T; everything stopped on every exit path): the ambassador
# runs as a service on a local share, a two-task job array starts two
# render nodes (framefarm-node --once, after check-share), a sample job is
# submitted, `framefarm wait` sees it verified, both array tasks rendered
# sets and exited 0 once the job ended, and `framefarm verify` checks the
# video frame by frame. Root only (slurmd runs jobs as their users).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
for c in munged mungekey slurmctld slurmd sbatch squeue scontrol sinfo; do
    command -v "$c" >/dev/null 2>&1 ||
        skip "$c is not installed (sh scripts/deps.sh deploy installs slurm-wlm and munge)"
done
[ "$(id -u)" = 0 ] || skip "needs root (slurmd, munged)"

# Every process this test starts carries this mark in its environment:
# cleanup finds them (slurmstepd and the job's processes leave slurmd's
# process tree) by it, and only them.
FF_SLURM_TEST=$T
export FF_SLURM_TEST
slurm_cleanup() {
    if [ -n "${ARRAY:-}" ]; then scancel --full "$ARRAY" >/dev/null 2>&1 || true; fi
    for f in "$T"/slurm/slurmd.pid "$T"/slurm/slurmctld.pid "$T"/munge/munged.pid; do
        if [ -s "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
    done
    for p in /proc/[0-9]*; do
        if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qx "FF_SLURM_TEST=$T"; then
            kill -9 "${p#/proc/}" 2>/dev/null || true
        fi
    done
    cleanup
}
trap slurm_cleanup EXIT
trap 'exit 1' INT TERM

# A free TCP port on 127.0.0.1 for each daemon.
free_port() {
    while :; do
        p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ))
        ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
    done
}

# munge: a key and a socket of our own (munged wants its socket's
# directory readable by all, its key's private).
mkdir -p "$T/munge" "$T/munge-key"
chmod 755 "$T" "$T/munge"
chmod 700 "$T/munge-key"
mungekey -c -k "$T/munge-key/munge.key" >/dev/null 2>&1 || fail "mungekey"
munged --key-file="$T/munge-key/munge.key" --socket="$T/munge/munge.sock" \
    --pid-file="$T/munge/munged.pid" --log-file="$T/munge-key/munged.log" \
    --seed-file="$T/munge-key/seed" --force >"$T/munged.out" 2>&1 ||
    { cat "$T/munged.out" "$T/munge-key/munged.log" 2>/dev/null; fail "munged did not start"; }

# Slurm: one node, this machine, as 127.0.0.1; cons_tres so both array
# tasks run at once (one CPU each); no cgroups, no accounting.
host=$(hostname -s)
mkdir -p "$T/slurm/state" "$T/slurm/spool"
SLURM_CONF=$T/slurm/slurm.conf
export SLURM_CONF
cat >"$SLURM_CONF" <<CONF
ClusterName=fftest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$T/slurm/state
SlurmdSpoolDir=$T/slurm/spool
SlurmctldPidFile=$T/slurm/slurmctld.pid
SlurmdPidFile=$T/slurm/slurmd.pid
SlurmctldLogFile=$T/slurm/slurmctld.log
SlurmdLogFile=$T/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=ff Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -D -f "$SLURM_CONF" >"$T/slurm/ctld.out" 2>&1 &
PIDS="$PIDS $!"
slurmd -D -f "$SLURM_CONF" >"$T/slurm/d.out" 2>&1 &
PIDS="$PIDS $!"
end=$(( $(date +%s) + 60 ))
until sinfo -h -o '%t' 2>/dev/null | grep -qx idle; do
    [ "$(date +%s)" -lt "$end" ] || {
        tail -n 20 "$T/slurm/ctld.out" "$T/slurm/slurmctld.log" "$T/slurm/d.out" "$T/slurm/slurmd.log" 2>/dev/null
        fail "the Slurm node never became idle: $(sinfo 2>&1)"; }
    sleep 0.2
done
echo "slurm: $(sinfo -h -o '%P %D %t %N')"

# The ambassador, as a service on the local share.
start_coord --set-size 12 --time-scale 5
zip=$(sample s96 96 320x180)
ff() { "$BIN/framefarm" "$@" --coordinator "127.0.0.1:$PORT"; }

# Two render nodes as a job array, from the script as shipped.
FRAMEFARM_COORDINATOR=127.0.0.1:$PORT FRAMEFARM_SHARE=$SHARE FRAMEFARM_BIN=$BIN \
    FRAMEFARM_NODE_ARGS="--retry-for 60" \
    sbatch --parsable --array=1-2 --cpus-per-task=1 --time=10 \
    --output="$T/slurm-task-%a.log" --chdir="$T" \
    "$top/nfs-setup/slurm-nodes.sbatch" >"$T/sbatch.out" 2>&1 ||
    fail "sbatch: $(cat "$T/sbatch.out")"
ARRAY=$(tr -d '\n' <"$T/sbatch.out")
echo "sbatch: array job $ARRAY"
# Both nodes connect before the job exists, so both get sets.
end=$(( $(date +%s) + 60 ))
until [ "$(ff status 2>/dev/null | grep -c '^slurm-')" -ge 2 ]; do
    [ "$(date +%s)" -lt "$end" ] || {
        squeue; cat "$T"/slurm-task-*.log 2>/dev/null
        fail "the array's two nodes did not both connect"; }
    sleep 0.2
done
ff submit "$zip" -o "$T/out.mp4" >"$T/submit.out" || fail "submit: $(cat "$T/submit.out")"
job=$(tail -n1 "$T/submit.out")
ff wait "$job" >"$T/wait.out" 2>&1 || { cat "$T/wait.out"; fail "wait $job"; }
cat "$T/wait.out"

# The array's tasks end by themselves (--once) once the job has ended.
end=$(( $(date +%s) + 60 ))
while squeue -h -j "$ARRAY" 2>/dev/null | grep -q .; do
    [ "$(date +%s)" -lt "$end" ] || { squeue; fail "array tasks still running 60 s after the job ended"; }
    sleep 0.2
done
for i in 1 2; do
    echo "--- array task $i:"
    cat "$T/slurm-task-$i.log"
    st=$(scontrol show job "${ARRAY}_$i" 2>/dev/null | sed -n 's/.*ExitCode=\([0-9:]*\).*/\1/p')
    state=$(scontrol show job "${ARRAY}_$i" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
    if [ "$state" != COMPLETED ] || [ "$st" != 0:0 ]; then
        fail "array task $i: $state, exit $st"
    fi
    grep -q '^PASS identity' "$T/slurm-task-$i.log" || fail "task $i did not check the share first"
    n=$(grep -c "counted (node slurm-${ARRAY}-$i," "$T/coord.log" || true)
    [ "$n" -ge 1 ] || fail "array task $i (node slurm-${ARRAY}-$i) rendered no set"
    echo "array task $i: COMPLETED, exit 0, node slurm-${ARRAY}-$i rendered $n sets"
done
verify "$T/out.mp4" "$zip"
echo ok
