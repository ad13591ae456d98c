#!/usr/bin/env bash
# First step of `npm start` and `npm test`, before any TypeScript can run: installs the locked node
# modules when they are missing or older than package-lock.json. Everything else is installed by
# scripts/system-packages.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.zoetrope-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "zoetrope: installing node modules (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
