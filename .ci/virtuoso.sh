#!/usr/bin/env bash
# A throwaway Virtuoso SPARQL endpoint on 127.0.0.1 for the endpoint tests.
#   .ci/virtuoso.sh start   install if needed, start, wait until /sparql answers, print the URL
#   .ci/virtuoso.sh stop    stop it and remove its database
# The URL and the isql port are written to $DIALOGQA_VIRTUOSO_DIR (default /tmp/dialogqa-virtuoso)
# as `url` and `isql-port`; tests/conftest.py reads them from there.
set -euo pipefail

DIR="${DIALOGQA_VIRTUOSO_DIR:-${TMPDIR:-/tmp}/dialogqa-virtuoso}"

port_free() {  # port_free PORT -> 0 when nothing listens on 127.0.0.1:PORT
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {  # free_port FIRST -> the first free port from FIRST upwards
  local p="$1"
  while ! port_free "$p"; do p=$((p + 1)); done
  echo "$p"
}

install() {
  command -v virtuoso-t >/dev/null && command -v isql-vt >/dev/null && return
  echo "installing virtuoso-opensource-7-bin" >&2
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq virtuoso-opensource-7-bin >/dev/null
}

answers() {  # answers URL -> 0 when the endpoint runs an ASK
  curl -fsS --max-time 2 -H 'Accept: application/sparql-results+json' \
    --data-urlencode 'query=ASK { ?s ?p ?o }' "$1" 2>/dev/null | grep -q -e boolean -e __ASK_RETVAL  # 7.2 answers ASK as a one-row SELECT
}

start() {
  if [ -f "$DIR/url" ] && answers "$(cat "$DIR/url")"; then
    cat "$DIR/url"; return
  fi
  install
  rm -rf "$DIR"; mkdir -p "$DIR/db"
  local http isql
  http=$(free_port 8890)
  isql=$(free_port 1111)
  cat > "$DIR/virtuoso.ini" <<INI
[Database]
DatabaseFile       = $DIR/db/virtuoso.db
ErrorLogFile       = $DIR/db/virtuoso.log
LockFile           = $DIR/db/virtuoso.lck
TransactionFile    = $DIR/db/virtuoso.trx
xa_persistent_file = $DIR/db/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile    = $DIR/db/virtuoso-temp.db
TransactionFile = $DIR/db/virtuoso-temp.trx
Striping        = 0

[Parameters]
ServerPort          = 127.0.0.1:$isql
DirsAllowed         = ., $DIR
NumberOfBuffers     = 10000
MaxDirtyBuffers     = 6000
ThreadsPerQuery     = 2
MaxClientConnections = 10
CheckpointInterval  = 0

[HTTPServer]
ServerPort             = 127.0.0.1:$http
ServerRoot             = $DIR
MaxClientConnections   = 10
ServerThreads          = 10

[SPARQL]
ResultSetMaxRows       = 100000
MaxQueryExecutionTime  = 30
MaxQueryCostEstimationTime = 400
DefaultQuery           = ASK { ?s ?p ?o }
INI
  (cd "$DIR" && virtuoso-t +configfile "$DIR/virtuoso.ini" +wait >"$DIR/start.log" 2>&1) || {
    cat "$DIR/start.log" "$DIR/db/virtuoso.log" >&2 2>/dev/null; exit 1; }
  local url="http://127.0.0.1:$http/sparql"
  for _ in $(seq 1 120); do
    if answers "$url"; then
      echo "$isql" > "$DIR/isql-port"
      echo "$url" > "$DIR/url"
      echo "$url"
      return
    fi
    sleep 0.5
  done
  echo "virtuoso did not answer on $url; log:" >&2
  tail -20 "$DIR/db/virtuoso.log" >&2 || true
  exit 1
}

stop() {
  [ -d "$DIR" ] || return 0
  if [ -f "$DIR/isql-port" ]; then
    isql-vt "$(cat "$DIR/isql-port")" dba dba exec="shutdown;" >/dev/null 2>&1 || true
  fi
  if [ -f "$DIR/db/virtuoso.lck" ]; then  # still running: the lock file holds its pid
    local pid
    pid=$(sed -n 's/^VIRT_PID=//p' "$DIR/db/virtuoso.lck" 2>/dev/null || true)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
