#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: kernel tools (as root), npm packages, build.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v nft >/dev/null || need+=(nftables)
command -v ip >/dev/null || need+=(iproute2)
command -v conntrack >/dev/null || need+=(conntrack)
command -v ping >/dev/null || need+=(iputils-ping) # the demo's ICMP column
command -v tcpdump >/dev/null || need+=(tcpdump)    # `logs` reads drop logs (NFLOG) with it
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bootstrap: missing ${need[*]}; install them as root: apt-get install -y ${need[*]}" >&2
    exit 69
  fi
  echo "bootstrap: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run build --silent
