# Sourced by scripts/test.sh: makes sure the servers the tests talk to are running, and exports
# their addresses. Uses the machine's own when they answer; otherwise installs and starts them.
svc_log() { printf '\033[1;34m[services]\033[0m %s\n' "$*"; }
SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# PostgreSQL: the machine's server (trust auth, database `test`) or one we install and start.
if [ -z "${VIGIL_TEST_POSTGRES_URL:-}" ]; then
  if ! port_open 5432; then
    svc_log "no PostgreSQL on 127.0.0.1:5432: installing and starting one"
    command -v pg_ctlcluster >/dev/null 2>&1 || { $SUDO apt-get update -qq; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null; }
    ver=$(ls /etc/postgresql | sort -n | tail -n1)
    $SUDO pg_ctlcluster "$ver" main start || true
    for _ in $(seq 1 30); do port_open 5432 && break; sleep 1; done
    $SUDO -u postgres psql -qc "ALTER USER postgres PASSWORD 'postgres'" >/dev/null
    $SUDO -u postgres psql -lqt | cut -d'|' -f1 | grep -qw test || $SUDO -u postgres createdb test
    export VIGIL_TEST_POSTGRES_URL="postgres://postgres:postgres@127.0.0.1:5432/test"
  else
    export VIGIL_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/test"
  fi
fi
svc_log "PostgreSQL: $VIGIL_TEST_POSTGRES_URL"

for f in "$(dirname "${BASH_SOURCE[0]}")"/services.d/*.sh; do
  [ -e "$f" ] || continue
  # shellcheck disable=SC1090
  . "$f"
done
