#!/usr/bin/env bash
# Makes this machine ready to run MSaaS: Debian packages, the model and ONNX Runtime (eng/fetch-assets.sh), and a
# Release build of the msaas command in artifacts/cli. Every step checks first, so a ready machine costs well
# under a second.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf 'msaas setup: %s\n' "$*" >&2; }

# Debian packages: ffmpeg decodes every input format; npm fetches the model;
# libmp3lame0 is LAME for MP3 stems; espeak-ng is the voice of the synthetic song that tests and benchmarks use.
need=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need+=(ffmpeg)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v npm >/dev/null || need+=(npm)
[ -e /usr/lib/x86_64-linux-gnu/libmp3lame.so.0 ] || [ -e /usr/lib/aarch64-linux-gnu/libmp3lame.so.0 ] || need+=(libmp3lame0)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing ${need[*]} (Debian packages)"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { say "the .NET 10 SDK is needed (dotnet on PATH)"; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

"$root/eng/fetch-assets.sh" >/dev/null

# Rebuild the command only when a source or build file (the web page's files included) is newer than the last
# build. It is published for this machine's architecture alone, with ONNX Runtime's CPU package (eng/gpu-check.sh
# builds the GPU one).
case "$(uname -m)" in
  x86_64) rid=linux-x64 ;;
  aarch64) rid=linux-arm64 ;;
  *) say "no ONNX Runtime build for $(uname -m)"; exit 1 ;;
esac
out="$root/artifacts/cli"
stamp="$out/.built"
if [ ! -f "$stamp" ] || [ -n "$(find "$root/src" "$root/Directory.Build.props" "$root/Directory.Build.targets" "$root/Directory.Packages.props" \
      -newer "$stamp" \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.targets' -o -name '*.json' -o -path '*/wwwroot/*' \) -not -path '*/obj/*' -not -path '*/bin/*' -print -quit)" ]; then
  say "building the msaas command (Release, $rid)"
  dotnet publish "$root/src/Cli/MSaaS.Cli.csproj" -c Release -r "$rid" --self-contained false -o "$out" --nologo -v quiet -p:UseAppHost=true >&2
  touch "$stamp"
fi
