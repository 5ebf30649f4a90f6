# Shared by scripts/run and scripts/test: installs, idempotently, what a fresh Debian machine lacks.
# Sourced, not run. Every version is pinned here and nowhere else.

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130 # must equal the wasm-bindgen crate pinned in Cargo.toml
BINARYEN_VERSION=132         # npm's binaryen; Debian's (v108) produces a wasm that fails to hydrate

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
# Build output lives outside the checkout, so a fresh clone reuses what an earlier one built.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tocsin/target}"
# cargo-leptos compiles with this set, and leptos reads it at compile time (it decides the wasm
# file's name). Setting it for every cargo command keeps one build of leptos, not two that
# overwrite each other's server binary.
export LEPTOS_OUTPUT_NAME=tocsin
TOOLS_DIR="${TOCSIN_TOOLS_DIR:-$HOME/.cache/tocsin/tools}"
export PATH="$TOOLS_DIR/node_modules/.bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

ensure_rust_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "Adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    step "Installing cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes, once)"
    cargo install --locked cargo-leptos --version "$CARGO_LEPTOS_VERSION" --features no_downloads
  fi
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    step "Installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    # Not --locked: its lock file names a version the registry no longer serves.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
}

ensure_wasm_opt() {
  if ! wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
    step "Installing wasm-opt (npm binaryen@$BINARYEN_VERSION)"
    mkdir -p "$TOOLS_DIR"
    npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
  fi
}

ensure_chromium() {
  if ! [ -x /usr/bin/chromium ]; then
    step "Installing Debian's Chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

ensure_npm_packages() {
  local stamp="$ROOT/end2end/node_modules/.package-lock.json"
  if ! [ -f "$stamp" ] || [ "$ROOT/end2end/package-lock.json" -nt "$stamp" ]; then
    step "Installing the browser tests' npm packages"
    (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}

ensure_postgres() {
  if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    step "Installing Debian's PostgreSQL"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  PG_BIN="$(compgen -G "/usr/lib/postgresql/*/bin" | sort -V | tail -n 1)"
}

# Starts a throwaway PostgreSQL cluster of its own, in a temporary folder, listening on a free
# 127.0.0.1 port (and a socket in that folder), and exports TOCSIN_TEST_DATABASE_URL for it. Built
# for speed, not durability (fsync off), as it holds test data only; `start_test_postgres durable`
# keeps PostgreSQL's durable defaults, for benchmarks. stop_test_postgres removes it.
start_test_postgres() {
  local settings="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if [ "${1:-}" = durable ]; then
    settings=""
  fi
  ensure_postgres
  # In $TMPDIR (or /tmp), which the postgres user can reach.
  PG_DIR="$(mktemp -d -t tocsin-pg.XXXXXX)"
  PG_AS=()
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root.
    chown postgres "$PG_DIR"
    PG_AS=(runuser -u postgres --)
  fi
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U tocsin --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -s \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_DIR -c max_connections=400 $settings" \
    start
  export TOCSIN_TEST_DATABASE_URL="postgres://tocsin@127.0.0.1:$port/postgres"
  echo "$("$PG_BIN/postgres" --version) for the tests, on 127.0.0.1:$port ($PG_DIR)"
}

stop_test_postgres() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -s stop || true
    rm -rf "$PG_DIR"
  fi
}
