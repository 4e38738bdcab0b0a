#!/usr/bin/env bash
# Installs the real peers the test suite drives (sipp from Debian's sip-tester, redis-server, kamailio and tcpdump for
# the benchmark's smoke test) when they are missing.
# Runs before `npm test`, so the test command works on a fresh Debian machine as well as in CI.
set -euo pipefail
need=()
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# tcpdump: the benchmark measures response times on the wire (loopback capture), its smoke test included
[ -x /usr/bin/tcpdump ] || [ -x /usr/sbin/tcpdump ] || command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
# Kamailio: the reference balancer of the benchmark (bench/), and of its smoke test when present
command -v kamailio >/dev/null 2>&1 || [ -x /usr/sbin/kamailio ] || need+=(kamailio)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing ${need[*]} and no apt-get here: install them by hand" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing system packages for the tests: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
# Debian's kamailio package enables and starts a system-wide kamailio on port 5060; the benchmark runs its own.
if [[ " ${need[*]} " == *" kamailio "* ]] && command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet kamailio 2>/dev/null; then
  $SUDO systemctl disable --now kamailio || true
fi
