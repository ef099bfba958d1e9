#!/usr/bin/env bash
# The demo: builds the plugin, installs it with install.sh, brings up the test bed's registry and
# a small sample deployment (demo/sample), and walks the daily workflow on it with
# `docker versions`. Safe to run again: it resets the sample first. Needs root on Debian.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sample=$root/demo/sample
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

eval "$(bash "$root/test/bed/up.sh" | grep '^REGISTRY=')"
cd "$root"
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build
DOCKER_VERSIONS_BASE_URL="file://$root/dist" sh "$root/install.sh"

# The sample's images live under demo/ in the registry: releases 1.61 … 1.64, latest = 1.64.
for repo in postgres req_router taskservice settings; do
  for tag in 1.61 1.62 1.63 1.64; do
    docker pull -q "$REGISTRY/$repo:$tag" >/dev/null
    docker tag "$REGISTRY/$repo:$tag" "$REGISTRY/demo/$repo:$tag"
    docker push -q "$REGISTRY/demo/$repo:$tag" >/dev/null
  done
  docker tag "$REGISTRY/demo/$repo:1.64" "$REGISTRY/demo/$repo:latest"
  docker push -q "$REGISTRY/demo/$repo:latest" >/dev/null
done

cd "$sample"
docker compose down --remove-orphans --timeout 1 >/dev/null 2>&1 || true
rm -rf version-manifest.yaml versions.env .version-backups logs version-audit.log version-journal.jsonl

say "docker compose up -d --wait   # a deployment as it runs before docker-versions"
docker compose up -d --wait >/dev/null 2>&1
run docker versions status
run docker versions migrate-versions --yes
run docker versions resolve-tags
run docker versions version

say "# a new release of req_router is published: 1.65, and latest moves to it"
bash "$root/test/bed/image.sh" "$REGISTRY/demo/req_router" "req_router 1.65 $(date +%s)" 1.65 latest
run docker versions check-updates
run docker versions pull-latest
run docker versions restart --service req_router
run docker versions version
run docker versions rollback-service --service req_router --apply
run docker versions version-history --service req_router

say "# the seed guide's restart: down, then databases, then the application"
run docker versions down
run docker versions updb
run docker versions up
run docker versions status

say "# a broken release of settings (1.66 never becomes healthy): update-safe rolls it back by itself"
DV_IMAGE_CMD='["/bin/busybox","sh","-c","trap \"exit 0\" TERM; while true; do sleep 1; done"]' \
  bash "$root/test/bed/image.sh" "$REGISTRY/demo/settings" "settings 1.66 broken $(date +%s)" 1.66 latest
say docker versions update-safe --timeout 20
docker versions update-safe --timeout 20 || echo "(exit $?: rolled back, as it should)"
run docker versions version
run docker versions version-history --audit --service settings
run docker versions down
