#!/usr/bin/env bash
# Installs the system packages nattvandring needs on Debian/Ubuntu, and only those that are missing:
# a PostgreSQL server, PostGIS for the same PostgreSQL major version, Chromium for the browser
# tests, GDAL's and poppler's tools, and Python's venv module. Runs as root or, for a normal user, through sudo. Safe to run again: when everything
# is present it says so and changes nothing.
set -euo pipefail

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  SUDO=()
fi

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

apt_updated=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 \
    || die "apt-get not found: install $* with your system's package manager, then run make again"
  if [ "$(id -u)" -ne 0 ] && [ ${#SUDO[@]} -eq 0 ]; then
    die "need root to install $*: run as root, install sudo, or install these packages yourself"
  fi
  if [ "$apt_updated" -eq 0 ]; then
    say "refreshing the package lists (apt-get update)"
    "${SUDO[@]}" apt-get update -qq
    apt_updated=1
  fi
  say "installing system packages: $*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >/dev/null
}

pg_major() {
  # The newest PostgreSQL server whose binaries are installed (initdb is in the server package).
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$dir" ] && basename "$(dirname "$(dirname "$dir")")"
}

missing=()

# 1. PostgreSQL server.
major=$(pg_major || true)
if [ -z "$major" ]; then
  apt_install postgresql
  major=$(pg_major || true)
  [ -n "$major" ] || die "PostgreSQL was installed but no initdb was found under /usr/lib/postgresql"
fi

# 2. PostGIS for that major version. (Route planning runs on the graph in memory, scipy and
#    OR-Tools: pgRouting is not needed.)
have_pkg "postgresql-${major}-postgis-3" || missing+=("postgresql-${major}-postgis-3")

# 3. Debian's Chromium, which the browser tests drive through Playwright (Playwright's own
#    browser download does not work on a closed network).
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# npm installs axe-core for the accessibility tests (tests/axe, `npm ci`).
command -v npm >/dev/null 2>&1 || missing+=(npm)

# 4. GDAL's command-line tools (ogrinfo validates the exported GeoPackages) and poppler's
#    pdftotext/pdftoppm (read the meeting report back), used by the tests.
command -v ogrinfo >/dev/null 2>&1 || missing+=(gdal-bin)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)

# 5. Python's venv module with pip (Debian splits it out of python3).
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  missing+=(python3-venv)
fi

if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
else
  say "system packages present (PostgreSQL ${major} with PostGIS, Chromium, GDAL and poppler tools, python3-venv)"
fi
