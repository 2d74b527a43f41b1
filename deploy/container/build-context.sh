#!/usr/bin/env bash
# Prepares the build context of the container image on the host, so that the build itself needs
# no network (podman build --network=none):
#
#   deploy/container/build-context.sh DIR
#   podman build --format docker --network=none -t localhost/cms-events:latest DIR
#
# DIR gets the Containerfile, healthcheck.mjs and app/: what the npm package holds (npm pack:
# dist without source maps, bin, examples, README, LICENSE, package.json) with its production
# dependencies (npm ci --omit=dev --ignore-scripts, from package-lock.json). dist/ must be built
# (npm ci or npm run build). DIR is emptied first; it must be new, empty, or a context this
# script made before.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 DIR   (the build context to write; emptied first)" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$1"

if [ ! -f "$root/dist/cli/main.js" ] || [ ! -f "$root/dist/dashboard/index.html" ]; then
  echo "$0: $root/dist is not built; run \"npm run build\" (or npm ci) first" >&2
  exit 1
fi
case "$(cd "$(dirname "$out")" 2>/dev/null && pwd)/$(basename "$out")" in
  "$root" | "$root/"*) echo "$0: DIR must be outside the repository ($root)" >&2; exit 2 ;;
esac

if [ -d "$out" ] && [ -n "$(ls -A "$out")" ] && ! { [ -f "$out/Containerfile" ] && [ -d "$out/app" ]; }; then
  echo "$0: $out is neither empty nor a build context made by this script; not emptying it" >&2
  exit 2
fi
rm -rf "$out"
mkdir -p "$out/app"
out="$(cd "$out" && pwd)"

# What runs, as the npm package defines it ("files" in package.json); no scripts: dist is built.
tarball="$(cd "$root" && npm pack --ignore-scripts --silent --pack-destination "$out")"
tar -xzf "$out/$tarball" -C "$out/app" --strip-components=1
rm "$out/$tarball"

# Its production dependencies, exactly as locked.
cp "$root/package-lock.json" "$out/app/"
(cd "$out/app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error) >&2

cp "$here/Containerfile" "$here/healthcheck.mjs" "$out/"
echo "$out"
