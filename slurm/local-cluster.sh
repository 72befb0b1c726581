#!/usr/bin/env bash
# A real single-node Slurm on this machine, under a folder of its own, without systemd or cgroups.
#
#   bash slurm/local-cluster.sh up       # install if missing, configure, start, wait until the node is idle
#   bash slurm/local-cluster.sh status   # daemons and sinfo
#   bash slurm/local-cluster.sh down     # stop the daemons (configuration and state are kept)
#   bash slurm/local-cluster.sh env      # print the two export lines only
#
# Folder: ${SLURM_LOCAL_DIR:-/tmp/slurm-local} (etc/slurm.conf, state/, spool/, log/, run/, munge/, bin/sacct).
# Every client (sbatch, squeue, submitit) needs SLURM_CONF; submitit polls `sacct`, which without
# accounting only answers with --completion (jobcomp/filetxt), hence the wrapper in bin/ put first on PATH.
# `up` is idempotent: daemons already answering are left running. Needs root (the daemons run as root).
set -euo pipefail

DIR="${SLURM_LOCAL_DIR:-/tmp/slurm-local}"
CONF="$DIR/etc/slurm.conf"
MUNGE_SOCKET="$DIR/munge/munge.socket"
HOST="$(hostname -s)"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export SLURM_CONF="$CONF"

log() { echo "local-cluster: $*" >&2; }

print_env() {
    echo "export SLURM_CONF=$CONF"
    echo "export PATH=$DIR/bin:\$PATH"
}

install_if_missing() {
    local missing=()
    command -v slurmctld >/dev/null || missing+=(slurmctld)
    command -v slurmd >/dev/null || missing+=(slurmd)
    command -v sbatch >/dev/null || missing+=(slurm-client)
    command -v munged >/dev/null || missing+=(munge)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        log "missing ${missing[*]} and cannot install them (needs root and apt-get)"; exit 3
    fi
    log "installing ${missing[*]} with apt-get"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >"$DIR/log/apt.log" 2>&1 \
        || { log "apt-get failed, see $DIR/log/apt.log"; exit 3; }
}

write_config() {
    local cpus mem_mb
    cpus="$(nproc)"
    mem_mb="$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.8}' /proc/meminfo)"
    local def_mem=$(( mem_mb / (cpus * 4) ))   # a job asks 1 CPU and a quarter of that CPU's share by default
    cat >"$CONF.new" <<EOF
# Written by slurm/local-cluster.sh: one node ($HOST), root daemons, no cgroups, no accounting database.
ClusterName=local
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire=5: a requeued job waits cred_expire + 1 s before it may start again (121 s by default)
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=5
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$def_mem
SchedulerType=sched/backfill
# one scheduling pass a second: a requeued or freed job starts within 1 s, not 5
SchedulerParameters=sched_interval=1,bf_interval=1
JobRequeue=1
# submitit ignores SIGTERM; the default 30 s would stall the queue on every requeue
KillWait=5
MinJobAge=600
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
Waittime=0
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# bin/sacct (slurm/sacct_jobcomp.py) reads this file: finished jobs
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
MaxArraySize=10001
NodeName=$HOST CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
    mv "$CONF.new" "$CONF"
}

write_wrapper() {
    cat >"$DIR/bin/sacct" <<EOF
#!/bin/sh
# No accounting database here: the job completion log + squeue, array tasks as A_T (sacct_jobcomp.py).
export SLURM_CONF="\${SLURM_CONF:-$CONF}"
exec /usr/bin/env python3 "$DIR/bin/sacct_jobcomp.py" "\$@"
EOF
    cp "$HERE/sacct_jobcomp.py" "$DIR/bin/sacct_jobcomp.py"
    chmod 755 "$DIR/bin/sacct"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_munge() {
    if pid_alive "$DIR/munge/munged.pid"; then return 0; fi
    if [ ! -f "$DIR/munge/munge.key" ]; then
        dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1 count=1024 status=none
    fi
    chmod 700 "$DIR/munge"; chmod 600 "$DIR/munge/munge.key"
    munged --force --socket="$MUNGE_SOCKET" --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed"
}

start_slurm() {
    if ! pid_alive "$DIR/run/slurmctld.pid"; then
        slurmctld -f "$CONF"
    fi
    if ! pid_alive "$DIR/run/slurmd.pid"; then
        slurmd -f "$CONF"
    fi
}

wait_idle() {
    local i state
    for i in $(seq 1 60); do
        state="$(sinfo -h -N -o '%t' 2>/dev/null | head -1 || true)"
        case "$state" in
            idle|mix|alloc) log "node $HOST is $state"; return 0 ;;
            down*|drain*|drng*) scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true ;;
        esac
        sleep 1
    done
    log "node never became idle (state '${state:-no answer}'); logs in $DIR/log"; return 1
}

up() {
    mkdir -p "$DIR"/{etc,state,spool,log,run,munge,bin}
    install_if_missing
    if [ ! -f "$CONF" ] || ! pid_alive "$DIR/run/slurmctld.pid"; then
        write_config
    fi
    write_wrapper
    start_munge
    start_slurm
    wait_idle
    print_env
}

stop_pid() {
    local f="$1" i
    pid_alive "$f" || { rm -f "$f"; return 0; }
    local pid; pid="$(cat "$f")"
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
}

down() {
    if [ -f "$CONF" ] && pid_alive "$DIR/run/slurmctld.pid"; then
        scancel --full --quiet --state=PENDING 2>/dev/null || true
    fi
    stop_pid "$DIR/run/slurmd.pid"
    stop_pid "$DIR/run/slurmctld.pid"
    stop_pid "$DIR/munge/munged.pid"
    log "stopped (state kept in $DIR; remove the folder to start afresh)"
}

status() {
    local rc=0
    for d in munge/munged slurmctld slurmd; do
        local f="$DIR/run/$d.pid"; [ "$d" = munge/munged ] && f="$DIR/munge/munged.pid"
        if pid_alive "$f"; then echo "${d##*/}: running (pid $(cat "$f"))"; else echo "${d##*/}: stopped"; rc=1; fi
    done
    if [ $rc = 0 ]; then sinfo -N -l || rc=1; squeue || true; print_env; fi
    return $rc
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    env) print_env ;;
    *) echo "usage: $0 up|down|status|env   (folder: $DIR)" >&2; exit 2 ;;
esac
