#!/usr/bin/env bash
# A one-node Slurm on this machine for the tiled-run tests (test/tiles-slurm.test.ts), as root and without systemd:
#   .ci/slurm.sh start   writes /etc/slurm/slurm.conf and a munge key, starts munged, slurmctld and slurmd
#   .ci/slurm.sh stop    stops the three daemons (by their pid files)
# Needs Debian's slurm-wlm and munge (.ci/run installs them).
set -euo pipefail
run=/run/dpm-slurm
case "${1:-}" in
start)
  mkdir -p "$run" /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm \
    /etc/munge /run/munge /var/lib/munge /var/log/munge
  [ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
  chmod 0400 /etc/munge/munge.key
  # munged as its own user (it refuses to run as root); pid file under its run folder
  su -s /bin/sh munge -c '/usr/sbin/munged --force'
  host=$(hostname -s)
  # the node's CPUs and memory as slurmd sees them (slurmd -C prints a NodeName= line)
  node=$(slurmd -C | head -n 1 | sed 's/ UpTime=.*//')
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=dpm-ci
SlurmctldHost=$host
AuthType=auth/munge
SlurmUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$run/slurmctld.pid
SlurmdPidFile=$run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  slurmctld -i
  slurmd
  # ready when the node answers idle (or mixed/allocated from an earlier job)
  for _ in $(seq 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -Eq 'idle|mixed|alloc'; then sinfo; exit 0; fi
    sleep 1
  done
  echo "slurm did not come up; slurmctld.log and slurmd.log:" >&2
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2
  exit 1
  ;;
stop)
  for pid in "$run/slurmd.pid" "$run/slurmctld.pid" /run/munge/munged.pid; do
    [ -s "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
  done
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
