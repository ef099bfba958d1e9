#!/usr/bin/env bash
# A second Docker engine on this machine for the fleet view's tests: its own socket, data root,
# exec root (so its own managed containerd), pid file and config file, its own bridge interface
# and no iptables rules, so it never touches the main engine's networks or state. Idempotent.
# Not `--bridge none`: a dockerd started so deletes the host's docker0, the main engine's bridge.
#   fleet-engine.sh up [NAME]    start it unless it answers; prints FLEET_HOST=unix://…
#   fleet-engine.sh down [NAME]  stop it (only the dockerd its own pid file names)
#   fleet-engine.sh remove NAME  stop it and delete its data and run directories (a test's own engine)
# Its bridge has no NAT and no port publishing: compose services there use `network_mode: none`.
set -euo pipefail

action=${1:-up}
NAME=${2:-dv-fleet}
case $NAME in *[!a-z0-9-]*|"") echo "fleet-engine: bad name '$NAME'" >&2; exit 2 ;; esac
STATE=${DV_BED_STATE:-/var/lib/docker-versions-bed}
DATA=$STATE/$NAME
RUN=/run/$NAME
SOCK=$RUN/docker.sock
HOST=unix://$SOCK
PIDFILE=$RUN/dockerd.pid
# Its own bridge (at most 15 characters) on its own /24 in 10.213/16, derived from the name.
BRIDGE=br-${NAME//-/}
BRIDGE=${BRIDGE:0:15}
NET=$(( $(printf '%s' "$NAME" | cksum | cut -d' ' -f1) % 250 + 1 ))

log() { printf '[bed] %s\n' "$*" >&2; }
answers() { docker -H "$HOST" info --format '{{.ID}}' >/dev/null 2>&1; }
ours() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case $action in
  up)
    if ! answers; then
      mkdir -p "$DATA/root" "$RUN/exec"
      if ! ours; then
        log "starting a second dockerd ($NAME) on $SOCK"
        # A killed dockerd leaves its pid file and socket; a new one refuses the first.
        rm -f "$PIDFILE" "$SOCK"
        # Its own (empty) config file: the system's daemon.json, if any, is the main engine's.
        [ -f "$DATA/daemon.json" ] || echo '{}' >"$DATA/daemon.json"
        if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
          ip link add "$BRIDGE" type bridge
          ip addr add "10.213.$NET.1/24" dev "$BRIDGE"
          ip link set "$BRIDGE" up
        fi
        setsid dockerd \
          --host "$HOST" \
          --data-root "$DATA/root" \
          --exec-root "$RUN/exec" \
          --pidfile "$PIDFILE" \
          --config-file "$DATA/daemon.json" \
          --bridge "$BRIDGE" \
          --iptables=false \
          --ip-masq=false \
          --ip-forward=false \
          --cgroup-parent "/$NAME" \
          >"$DATA/dockerd.log" 2>&1 </dev/null &
      fi
      for _ in $(seq 1 120); do answers && break; sleep 0.5; done
      answers || { log "the second dockerd ($NAME) did not start; see $DATA/dockerd.log"; tail -20 "$DATA/dockerd.log" >&2; exit 1; }
    fi
    echo "FLEET_HOST=$HOST"
    ;;
  down|remove)
    if ours; then
      pid=$(cat "$PIDFILE")
      kill "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -0 "$pid" 2>/dev/null && { log "dockerd $NAME (pid $pid) did not stop"; exit 1; }
    fi
    if [ "$action" = remove ]; then
      [ "$NAME" != dv-fleet ] || { log "remove is for a test's own engine, not the shared $NAME"; exit 2; }
      rm -rf "$DATA" "$RUN"
      ! ip link show "$BRIDGE" >/dev/null 2>&1 || ip link del "$BRIDGE"
    fi
    ;;
  *) echo "usage: fleet-engine.sh up|down|remove [NAME]" >&2; exit 2 ;;
esac
