#!/usr/bin/env bash
# Brings up the real test bed, idempotently, on a Debian host as root: Docker engine,
# Compose v2, a loopback registry and fixture images. Prints `KEY=value` lines at the end
# (REGISTRY=127.0.0.1:<port>) that the tests and the demo read.
set -euo pipefail

STATE=${DV_BED_STATE:-/var/lib/docker-versions-bed}
PORT=${DV_BED_REGISTRY_PORT:-5077}
REGISTRY=127.0.0.1:$PORT
# Fixture repositories and tags: each tag is its own digest; latest = the newest.
REPOS=${DV_BED_REPOS:-"req_router taskservice settings conv_mgr wsfe jobsched apigateway ansi_processing dagknows_nuxt postgres"}
TAGS=${DV_BED_TAGS:-"1.61 1.62 1.63 1.64"}
PLUGINS=/usr/local/lib/docker/cli-plugins

log() { printf '[bed] %s\n' "$*" >&2; }
mkdir -p "$STATE"

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
[ -x /bin/busybox ] && /bin/busybox --help 2>&1 | grep -q static || dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
# bench/resolve compares resolve-tags with a script of skopeo calls asking the same questions.
command -v skopeo >/dev/null 2>&1 || need_apt+=(skopeo)
# The fleet view's second engine makes its own bridge interface (fleet-engine.sh).
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
# The schedule tests: `crontab` (cron's daemon is not needed and the bed's policy-rc.d keeps it
# from starting) and `systemd-analyze verify` for the unit files (systemd itself is not run).
command -v crontab >/dev/null 2>&1 || need_apt+=(cron)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)
# The terminal tests: a real pty in tmux; bash with Debian's completion, zsh and fish.
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
[ -f /usr/share/bash-completion/bash_completion ] || need_apt+=(bash-completion)
command -v zsh >/dev/null 2>&1 || need_apt+=(zsh)
command -v fish >/dev/null 2>&1 || need_apt+=(fish)
# The build makes both release executables (build/targets.mjs): the other architecture's is
# stripped with its cross binutils and made (and tested) under qemu-user with its glibc as sysroot.
command -v strip >/dev/null 2>&1 || need_apt+=(binutils)
case $(uname -m) in
  x86_64) cross=aarch64-linux-gnu qemu=qemu-aarch64-static libs="libc6-arm64-cross libstdc++6-arm64-cross" ;;
  aarch64) cross=x86_64-linux-gnu qemu=qemu-x86_64-static libs="libc6-amd64-cross libstdc++6-amd64-cross" ;;
  *) cross="" ;;
esac
if [ -n "$cross" ]; then
  command -v "$qemu" >/dev/null 2>&1 || need_apt+=(qemu-user-static)
  command -v "$cross-strip" >/dev/null 2>&1 || need_apt+=("binutils-${cross//_/-}")
  if [ ! -e "/usr/$cross/lib/libstdc++.so.6" ]; then
    read -ra more <<<"$libs"
    need_apt+=("${more[@]}")
  fi
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
fi

# Compose v2 from Debian trixie, unpacked only: the system's own sources stay untouched.
if ! docker compose version >/dev/null 2>&1; then
  log "fetching Compose v2 (Debian trixie docker-compose)"
  t="$STATE/trixie"; mkdir -p "$t/lists/partial" "$t/archives"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" >"$t/sources.list"
  opts=(-oDir::Etc::SourceList="$t/sources.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$t/lists" -oAPT::Get::List-Cleanup=0)
  apt-get "${opts[@]}" update -qq >&2
  (cd "$t/archives" && apt-get "${opts[@]}" download docker-compose >&2)
  rm -rf "$t/x"; dpkg -x "$t"/archives/docker-compose_*.deb "$t/x"
  mkdir -p "$PLUGINS"
  install -m 0755 "$t/x/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGINS/docker-compose"
fi

# Docker engine: started by hand, there is no systemd.
if ! docker info >/dev/null 2>&1; then
  if ! pgrep -x dockerd >/dev/null; then
    log "starting dockerd"
    # A dockerd that was killed leaves its pid file behind, and a new one refuses to start.
    rm -f /var/run/docker.pid
    setsid dockerd >"$STATE/dockerd.log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see $STATE/dockerd.log"; tail -20 "$STATE/dockerd.log" >&2; exit 1; }
fi

# Registry (distribution 2.8) on loopback with filesystem storage.
if ! curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1; then
  log "starting registry on $REGISTRY"
  mkdir -p "$STATE/registry"
  cat >"$STATE/registry.yml" <<YML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $STATE/registry }
  delete: { enabled: true }
http: { addr: $REGISTRY }
YML
  setsid docker-registry serve "$STATE/registry.yml" >"$STATE/registry.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 && break; sleep 0.25; done
  curl -fsS "http://$REGISTRY/v2/" >/dev/null || { log "registry did not start"; cat "$STATE/registry.log" >&2; exit 1; }
fi

# Fixture images (see image.sh): several tags per repository, each its own digest.
newest=${TAGS##* }
for repo in $REPOS; do
  have=$(curl -fsS "http://$REGISTRY/v2/$repo/tags/list" 2>/dev/null || true)
  missing=0
  for tag in $TAGS latest; do case "$have" in *"\"$tag\""*) ;; *) missing=1 ;; esac; done
  [ "$missing" = 0 ] && continue
  log "building $repo: $TAGS"
  for tag in $TAGS; do bash "$(dirname "$0")/image.sh" "$REGISTRY/$repo" "$repo $tag" "$tag"; done
  docker tag "$REGISTRY/$repo:$newest" "$REGISTRY/$repo:latest"
  docker push -q "$REGISTRY/$repo:latest" >/dev/null
done

# A second registry that demands Basic auth, for the tests of `docker login` credentials.
DV_BED_STATE=$STATE bash "$(dirname "$0")/auth-registry.sh" "$REGISTRY"

# A second engine on its own socket, for the fleet view's tests (docker contexts).
bash "$(dirname "$0")/fleet-engine.sh" up

echo "REGISTRY=$REGISTRY"
echo "STATE=$STATE"
