#!/usr/bin/env bash
# On a machine with an NVIDIA GPU (driver, CUDA 13 and cuDNN 9 installed): builds the GPU flavour of msaas
# (ONNX Runtime's CUDA package), separates a song with --cuda, and prints the real-time factor, the time per model
# segment and the peak GPU memory that nvidia-smi saw. Usage: eng/gpu-check.sh [song] [seconds]
#   song     any audio file (default: the synthetic benchmark song, looped to the length)
#   seconds  length to separate (default 180)
# Needs the .NET 10 SDK; fetches the model like ./msaas does. Writes nothing outside artifacts/ and the cache.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf 'gpu-check: %s\n' "$*" >&2; }

command -v nvidia-smi >/dev/null || { say "nvidia-smi not found: this is not a machine with an NVIDIA driver"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2
"$root/eng/fetch-assets.sh" >/dev/null

out="$root/artifacts/cli-gpu"
say "building the GPU flavour into $out"
dotnet publish "$root/src/Cli/MSaaS.Cli.csproj" -c Release -r linux-x64 --self-contained false -o "$out" --nologo -v quiet \
  -p:UseAppHost=true -p:OrtFlavor=gpu -p:UseArtifactsOutput=true -p:ArtifactsPath="$root/artifacts/build-gpu" >&2
[ -f "$out/libonnxruntime_providers_cuda.so" ] || { say "the GPU build lacks libonnxruntime_providers_cuda.so"; exit 1; }

# Peak GPU memory, sampled every 100 ms while the benchmark runs.
samples=$(mktemp)
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >"$samples" &
sampler=$!
trap 'kill $sampler 2>/dev/null || true; rm -f "$samples"' EXIT

args=(bench separate --cuda --durations "${2:-180}")
[ -n "${1:-}" ] && args+=(--input "$1")
"$out/msaas" "${args[@]}"

kill $sampler 2>/dev/null || true
wait $sampler 2>/dev/null || true
baseline=$(head -1 "$samples")
peak=$(sort -n "$samples" | tail -1)
echo "peak GPU memory: ${peak} MiB (${baseline} MiB in use before the run; nvidia-smi, every 100 ms)"
