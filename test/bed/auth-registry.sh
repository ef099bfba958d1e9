#!/usr/bin/env bash
# Brings up, idempotently, the bed's second loopback registry: docker-registry with an htpasswd
# (bcrypt) user from auth-registry.env, holding private/app:1.63, 1.64 and latest (= 1.64)
# copied from the open registry given as $1. Prints AUTH_REGISTRY=127.0.0.1:<port>.
set -euo pipefail

SOURCE=${1:?usage: auth-registry.sh <open registry host:port>}
STATE=${DV_BED_STATE:-/var/lib/docker-versions-bed}/auth-registry
# shellcheck source=auth-registry.env
. "$(dirname "$0")/auth-registry.env"
REGISTRY=127.0.0.1:$DV_AUTH_REGISTRY_PORT
REPO=private/app

log() { printf '[bed] %s\n' "$*" >&2; }
mkdir -p "$STATE/data"

if ! command -v htpasswd >/dev/null 2>&1; then
  log "installing apache2-utils (htpasswd) from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends apache2-utils >&2
fi

# A password file that no longer matches auth-registry.env is rewritten, and the registry
# restarted, since docker-registry reads it when it starts.
restart=0
if ! printf '%s' "$DV_AUTH_PASSWORD" | htpasswd -v -i "$STATE/htpasswd" "$DV_AUTH_USER" >/dev/null 2>&1; then
  printf '%s' "$DV_AUTH_PASSWORD" | htpasswd -B -c -i "$STATE/htpasswd" "$DV_AUTH_USER" 2>/dev/null
  restart=1
fi

status() { curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/" 2>/dev/null || true; }
if [ "$restart" = 1 ] && [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
  kill "$(cat "$STATE/pid")"
  for _ in $(seq 1 40); do [ "$(status)" = 000 ] && break; sleep 0.25; done
fi
if [ "$(status)" != 401 ]; then
  log "starting basic-auth registry on $REGISTRY"
  cat >"$STATE/registry.yml" <<YML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $STATE/data }
  delete: { enabled: true }
http: { addr: $REGISTRY }
auth:
  htpasswd: { realm: docker-versions-bed, path: $STATE/htpasswd }
YML
  setsid docker-registry serve "$STATE/registry.yml" >"$STATE/registry.log" 2>&1 </dev/null &
  echo $! >"$STATE/pid"
  for _ in $(seq 1 60); do [ "$(status)" = 401 ] && break; sleep 0.25; done
  [ "$(status)" = 401 ] || { log "basic-auth registry did not start"; cat "$STATE/registry.log" >&2; exit 1; }
fi

have=$(curl -fsS -u "$DV_AUTH_USER:$DV_AUTH_PASSWORD" "http://$REGISTRY/v2/$REPO/tags/list" 2>/dev/null || true)
missing=0
for tag in 1.63 1.64 latest; do case "$have" in *"\"$tag\""*) ;; *) missing=1 ;; esac; done
if [ "$missing" = 1 ]; then
  log "copying $SOURCE/req_router 1.63, 1.64 to $REGISTRY/$REPO"
  login=$(mktemp -d)
  trap 'DOCKER_CONFIG=$login docker logout "$REGISTRY" >/dev/null 2>&1 || true; rm -rf "$login"' EXIT
  printf '%s' "$DV_AUTH_PASSWORD" |
    DOCKER_CONFIG=$login docker login -u "$DV_AUTH_USER" --password-stdin "$REGISTRY" >/dev/null 2>&1
  for tag in 1.63 1.64; do
    docker pull -q "$SOURCE/req_router:$tag" >/dev/null
    docker tag "$SOURCE/req_router:$tag" "$REGISTRY/$REPO:$tag"
    DOCKER_CONFIG=$login docker push -q "$REGISTRY/$REPO:$tag" >/dev/null
  done
  docker tag "$SOURCE/req_router:1.64" "$REGISTRY/$REPO:latest"
  DOCKER_CONFIG=$login docker push -q "$REGISTRY/$REPO:latest" >/dev/null
fi

echo "AUTH_REGISTRY=$REGISTRY"
