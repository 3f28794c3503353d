#!/usr/bin/env bash
# The whole test suite: lint and format check (Biome), typecheck, then every *.test.ts under src/ and test/ with node's test
# runner (real ffmpeg, the real faster-whisper model, real HTTP). Run through `npm test`, which
# first runs scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
echo "lint and format: biome ci" >&2
npx biome ci --colors=off
echo "typecheck: tsc --noEmit" >&2
npx tsc --noEmit
mapfile -t files < <(find src test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
node --import tsx --test --test-reporter=spec "${files[@]}"
