#!/usr/bin/env bash
# Builds one tiny fixture image and pushes it under each tag given:
#   image.sh <registry>/<repository> <content> <tag> [<tag>...]
# busybox-static plus a /version file holding <content> (different content, different digest);
# the default command serves HTTP on 8080 under a shell that exits on SIGTERM (a bare httpd as
# PID 1 ignores it, and every recreate would wait for Docker's kill timeout).
set -euo pipefail
repo=$1 content=$2
shift 2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/www" "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for a in sh ls cat echo sleep wget httpd; do ln -s busybox "$root/bin/$a"; done
printf '%s\n' "$content" >"$root/version"
printf '%s\n' "$content" >"$root/www/index.html"
# DV_IMAGE_CMD replaces the default command (JSON form), e.g. for an image that never gets healthy;
# DV_IMAGE_VERSION_LABEL replaces the org.opencontainers.image.version label (default: the first tag);
# DV_IMAGE_LABELS adds labels, one key=value per line (values without spaces), e.g. the OCI
# revision, source and created labels a notification shows.
cmd=${DV_IMAGE_CMD:-'["/bin/busybox","sh","-c","trap \"exit 0\" TERM INT; /bin/busybox httpd -f -p 8080 -h /www & wait"]'}
extra=()
while IFS= read -r kv; do [ -n "$kv" ] && extra+=(-c "LABEL $kv"); done <<<"${DV_IMAGE_LABELS:-}"
tar -C "$root" -cf - . | docker import \
  -c "CMD $cmd" "${extra[@]}" \
  -c 'EXPOSE 8080' -c "LABEL org.opencontainers.image.version=${DV_IMAGE_VERSION_LABEL:-$1}" \
  - "$repo:$1" >/dev/null
for tag in "$@"; do
  [ "$tag" = "$1" ] || docker tag "$repo:$1" "$repo:$tag"
  docker push -q "$repo:$tag" >/dev/null
done
