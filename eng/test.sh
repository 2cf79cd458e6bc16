#!/usr/bin/env bash
# Runs the whole test suite: sets the machine up (eng/bootstrap.sh, and Debian's chromium for the web page's
# browser tests), starts the servers the tests use on 127.0.0.1 (eng/services.sh; stopped again afterwards unless
# they were already running), then runs every test project in MSaaS.sln, the model tests included. Ends with one
# summary line "N passed, N failed, N skipped".
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/eng/bootstrap.sh" || exit 1
# The browser tests drive Debian's chromium through Playwright (whose own browser download cannot work here).
if [ ! -x /usr/bin/chromium ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "msaas test: installing chromium (Debian package) for the web page's tests" >&2
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null || exit 1
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log=$(mktemp)
started=0
"$root/eng/services.sh" status | grep -q ': up' || started=1
cleanup() {
  rm -f "$log"
  if [ "$started" -eq 1 ]; then "$root/eng/services.sh" down; fi
}
trap cleanup EXIT
"$root/eng/services.sh" up || exit 1
eval "$("$root/eng/services.sh" env)"
# Built at once (in parallel), then the test projects one after another: several of them run the model or start
# services, and side by side on a 2-core machine they starve each other past their deadlines.
dotnet build "$root/MSaaS.sln" -c Release --nologo -v quiet 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -eq 0 ]; then
  dotnet test "$root/MSaaS.sln" -c Release --nologo --no-build -m:1 "$@" 2>&1 | tee -a "$log"
  status=${PIPESTATUS[0]}
fi

# dotnet test prints one "Passed!/Failed! - Failed: F, Passed: P, Skipped: S, ..." line per test project.
read -r passed failed skipped < <(grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\2 \1 \3/' |
  awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then echo "no test ran" >&2; exit 1; fi
exit "$status"
