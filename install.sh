#!/bin/sh
# Installs the docker-versions CLI plugin on a Linux host:
#   curl -fsSL <release>/install.sh | sh                  # for this user (~/.docker/cli-plugins)
#   curl -fsSL <release>/install.sh | sudo sh -s -- --system   # for every user of the host
# It downloads the executable for this machine and the release's checksums.txt, refuses a file
# whose SHA-256 does not match, and moves the verified file into place in one rename.
# Environment:
#   DOCKER_VERSIONS_VERSION   install this release (e.g. 0.3.1) instead of the latest
#   DOCKER_VERSIONS_BASE_URL  a directory serving docker-versions-linux-<arch> and checksums.txt
#   DOCKER_CONFIG             Docker's config directory (default ~/.docker), as the docker CLI reads it
#
# Everything lives in functions and runs from the last line, so a download cut short in the
# middle of `curl | sh` runs nothing.

set -u

RELEASES=https://github.com/docker-versions/docker-versions/releases
SYSTEM_PLUGINS=/usr/local/lib/docker/cli-plugins
PLUGIN=docker-versions

tmp_dir=""
staged=""

die() {
  printf 'install.sh: %s\n' "$*" >&2
  exit 1
}

cleanup() {
  if [ -n "$staged" ]; then rm -f "$staged"; fi
  if [ -n "$tmp_dir" ]; then rm -rf "$tmp_dir"; fi
}

usage() {
  cat <<'EOF'
Usage: install.sh [--system]

Installs the docker-versions plugin, so that `docker versions` works.
  (default)  into ${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins, for the current user
  --system   into /usr/local/lib/docker/cli-plugins, for every user (needs root)

DOCKER_VERSIONS_VERSION=X.Y.Z pins a release; DOCKER_VERSIONS_BASE_URL names another
directory that serves docker-versions-linux-<arch> and checksums.txt.
EOF
}

# The release name of this machine's architecture, as `uname -m` spells it on Linux.
detect_arch() {
  machine=$(uname -m) || die "could not run uname -m"
  case $machine in
    x86_64 | amd64) echo x86_64 ;;
    aarch64 | arm64) echo aarch64 ;;
    *) die "unsupported architecture $machine (releases exist for x86_64 and aarch64)" ;;
  esac
}

# The executables are linked against glibc: this many symbols' versions, at least (measured
# with readelf on the release files; see README, "Supported platforms").
GLIBC_MIN=2.28

# Refuses a host whose C library cannot run the executables, before anything is downloaded.
# musl (Alpine): its ldd says so when asked for its version; where there is no ldd, its dynamic
# loader /lib/ld-musl-<arch>.so.1 stands alone (a glibc host may carry one too, beside its own).
check_libc() {
  ldd_says=$(ldd --version 2>&1 | head -n 2)
  case $ldd_says in
    *musl* | *MUSL*) musl=yes ;;
    *GLIBC* | *"GNU libc"* | *"GNU C Library"*) musl=no ;;
    *)
      musl=no
      for loader in /lib/ld-musl-*.so.1; do
        [ -e "$loader" ] || continue
        [ -e /lib64/ld-linux-x86-64.so.2 ] || [ -e /lib/ld-linux-aarch64.so.1 ] || musl=yes
      done
      ;;
  esac
  [ "$musl" = no ] ||
    die "this host's C library is musl (Alpine?), which docker-versions does not support yet: it needs glibc $GLIBC_MIN or newer"
  # glibc reports its version through getconf; older than the minimum cannot load the executable.
  have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }')
  case $have in
    [0-9]*.[0-9]*)
      if [ "$(printf '%s\n%s\n' "$GLIBC_MIN" "$have" | sort -t. -k1,1n -k2,2n | head -n 1)" != "$GLIBC_MIN" ]; then
        die "this host has glibc $have; docker-versions needs glibc $GLIBC_MIN or newer"
      fi
      ;;
  esac
}

# The machine an ELF file is built for (e_machine, bytes 18-19), as `uname -m` names it.
elf_machine() {
  case $(od -An -tx1 -j18 -N2 "$1" 2>/dev/null | tr -d ' \n') in
    3e00) echo x86_64 ;;
    b700) echo aarch64 ;;
    2800) echo "32-bit arm" ;;
    0300) echo i386 ;;
    *) echo unknown ;;
  esac
}

# fetch URL FILE: download with whichever of curl and wget exists; one line on failure.
fetch() {
  if [ "$downloader" = curl ]; then
    curl -fsSL --retry 2 -o "$2" "$1" 2>"$tmp_dir/fetch.err"
  else
    wget -q -O "$2" "$1" 2>"$tmp_dir/fetch.err"
  fi
  status=$?
  [ "$status" -eq 0 ] && return 0
  why=$(tail -n 1 "$tmp_dir/fetch.err" 2>/dev/null)
  if [ -z "$why" ]; then
    case "$downloader:$status" in
      wget:4) why="wget: network failure" ;;
      wget:8) why="wget: the server answered with an error" ;;
      *) why="$downloader exited with status $status" ;;
    esac
  fi
  die "could not download $1 ($why)"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{ print $1 }'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{ print $1 }'
  else
    die "neither sha256sum nor shasum was found: cannot verify the download"
  fi
}

# True when DIR exists and is writable, or could be created under its nearest existing parent.
can_write_under() {
  d=$1
  while [ ! -d "$d" ]; do d=$(dirname "$d"); done
  [ -w "$d" ]
}

main() {
  scope=user
  for arg in "$@"; do
    case $arg in
      --system) scope=system ;;
      -h | --help)
        usage
        exit 0
        ;;
      *) die "unknown option '$arg' (install.sh takes --system or --help)" ;;
    esac
  done

  os=$(uname -s) || die "could not run uname -s"
  [ "$os" = Linux ] || die "unsupported operating system $os: docker-versions is built for Linux only"
  arch=$(detect_arch) || exit 1
  check_libc
  asset="$PLUGIN-linux-$arch"

  command -v docker >/dev/null 2>&1 || die "docker was not found on PATH: install Docker first"
  if command -v curl >/dev/null 2>&1; then
    downloader=curl
  elif command -v wget >/dev/null 2>&1; then
    downloader=wget
  else
    die "neither curl nor wget was found on PATH: install one of them"
  fi

  if [ "$scope" = system ]; then
    plugins_dir=$SYSTEM_PLUGINS
  elif [ -n "${DOCKER_CONFIG:-}" ]; then
    plugins_dir="$DOCKER_CONFIG/cli-plugins"
  elif [ -n "${HOME:-}" ]; then
    plugins_dir="$HOME/.docker/cli-plugins"
  else
    die "neither DOCKER_CONFIG nor HOME is set: cannot tell where the user's plugins go"
  fi
  if ! can_write_under "$plugins_dir"; then
    [ "$scope" = system ] && die "cannot write to $plugins_dir: run the --system install as root (sudo sh -s -- --system)"
    die "cannot write to $plugins_dir"
  fi

  version=${DOCKER_VERSIONS_VERSION:-}
  version=${version#v}
  case $version in
    *[!A-Za-z0-9._+-]*) die "DOCKER_VERSIONS_VERSION '$DOCKER_VERSIONS_VERSION' is not a version" ;;
  esac
  if [ -n "${DOCKER_VERSIONS_BASE_URL:-}" ]; then
    base=${DOCKER_VERSIONS_BASE_URL%/}
  elif [ -n "$version" ]; then
    base="$RELEASES/download/v$version"
  else
    base="$RELEASES/latest/download"
  fi

  tmp_dir=$(mktemp -d "${TMPDIR:-/tmp}/docker-versions-install.XXXXXX") ||
    die "could not create a temporary directory"

  echo "Downloading $asset from $base"
  fetch "$base/checksums.txt" "$tmp_dir/checksums.txt"
  fetch "$base/$asset" "$tmp_dir/$asset"

  # sha256sum lines read "<hash>  <name>", or "<hash> *<name>" when written in binary mode.
  expected=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print tolower($1); exit }' "$tmp_dir/checksums.txt")
  case $expected in
    "") die "checksums.txt from $base has no line for $asset: refusing to install it" ;;
    *[!0-9a-f]*) die "checksums.txt from $base has a malformed line for $asset: refusing to install it" ;;
  esac
  [ "${#expected}" -eq 64 ] || die "checksums.txt from $base has a malformed line for $asset: refusing to install it"
  actual=$(sha256_of "$tmp_dir/$asset") || exit 1
  [ "$actual" = "$expected" ] ||
    die "checksum mismatch for $asset (expected $expected, got $actual): refusing to install it"

  # A shell that cannot exec a program of another architecture runs it as a script instead: when
  # `uname -m` does not match the programs this host runs (a 32-bit userland on a 64-bit kernel),
  # compare the download with the shell's own binary rather than run it.
  host_machine=$(elf_machine /bin/sh)
  file_machine=$(elf_machine "$tmp_dir/$asset")
  if [ "$host_machine" != unknown ] && [ "$file_machine" != "$host_machine" ]; then
    die "the downloaded $asset is built for $file_machine, but this host runs $host_machine programs (uname -m says $(uname -m)): refusing to install it"
  fi

  mkdir -p "$plugins_dir" 2>/dev/null || die "could not create $plugins_dir"
  target="$plugins_dir/$PLUGIN"
  # Staged next to the target, so the final mv is a rename on one filesystem: a concurrent
  # `docker` run sees either the old plugin or the new one, never half a file.
  staged="$plugins_dir/.$PLUGIN.install.$$"
  cp "$tmp_dir/$asset" "$staged" 2>/dev/null || die "could not write $staged"
  chmod 755 "$staged" || die "could not make $staged executable"

  # Run the plugin protocol's first question before replacing anything: a binary this host
  # cannot run (another libc, a noexec mount) must not take the place of a working one.
  if ! metadata=$("$staged" docker-cli-plugin-metadata 2>"$tmp_dir/run.err"); then
    why=$(head -n 1 "$tmp_dir/run.err")
    die "the downloaded $asset does not run on this host${why:+: $why}"
  fi
  new_version=$(printf '%s' "$metadata" | tr -d '\n' |
    sed -n 's/.*"Version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')

  mv -f "$staged" "$target" || die "could not move the plugin into $target"
  staged=""

  if ! reported=$(docker versions --version 2>"$tmp_dir/run.err"); then
    why=$(head -n 1 "$tmp_dir/run.err")
    die "installed $target, but 'docker versions --version' failed${why:+: $why}"
  fi
  reported=$(printf '%s' "$reported" | tr -d '\r\n')
  echo "Installed docker-versions ${new_version:-$reported} at $target"
  if [ -n "$new_version" ] && [ "$reported" != "$new_version" ]; then
    # The user's cli-plugins directory wins over the system one in the docker CLI.
    printf 'install.sh: warning: docker runs another docker-versions (%s) that takes precedence over %s\n' \
      "$reported" "$target" >&2
  fi
  echo "Run 'docker versions --help' to get started."
}

trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

main "$@"
