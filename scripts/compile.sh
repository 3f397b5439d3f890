#!/usr/bin/env bash
# Builds dist/sidekick-{linux,darwin}-{amd64,arm64} with deno compile; see
# scripts/compile.ts for the permissions baked into the binaries and why.
#
#   scripts/compile.sh                          all four targets, default permissions
#   scripts/compile.sh --target linux-arm64     one target (triple or os-arch)
#   scripts/compile.sh --check-only             offline checks, no binary
#   scripts/compile.sh --dry-run                print the deno compile command lines
#
# Least privilege, baked in (each variable replaces one default; an argument
# like --allow-net=LIST wins over its variable; '*' means any, '' means none):
#
#   SIDEKICK_ALLOW_NET=0.0.0.0:8080,minio1:9000,minio2:9000 \
#   SIDEKICK_ALLOW_READ= scripts/compile.sh
#
#   SIDEKICK_ALLOW_NET    default: any host   (listen address + every endpoint host:port)
#   SIDEKICK_ALLOW_READ   default: any path   (config file, TLS files)
#   SIDEKICK_ALLOW_ENV    default: SIDEKICK_<FLAG>..., SIDEKICK_SITES, SIDELB_*, LOG_TOKENS, LOG_STREAM
#   SIDEKICK_ALLOW_WRITE  default: none       (only --bootstrap writes)
#   SIDEKICK_V8_FLAGS     default: --max-semi-space-size=2,--heap-growing-percent=20
#
# The script itself runs with: read the checkout, write dist/, run deno, and
# read only its own build variables.
set -euo pipefail
cd "$(dirname "$0")/.."
export DENO_NO_UPDATE_CHECK=1
exec deno run \
  --allow-read=. \
  --allow-write=dist \
  --allow-run=deno \
  --allow-env=SIDEKICK_ALLOW_NET,SIDEKICK_ALLOW_READ,SIDEKICK_ALLOW_ENV,SIDEKICK_ALLOW_WRITE,SIDEKICK_V8_FLAGS \
  scripts/compile.ts "$@"
