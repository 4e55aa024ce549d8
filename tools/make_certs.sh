#!/usr/bin/env bash
# Makes a private CA and the certificates a local RingKV cluster needs (docs/security.md):
#
#   tools/make_certs.sh [--dir DIR] [--nodes N] [--hosts H1,H2,...] [--user NAME]... [--days D]
#
#   DIR/ca.crt, ca.key                 the CA (kept if it exists: reruns add certificates)
#   DIR/node-K.crt, node-K.key         node K's certificate (K = 1..N), CN=node-K, usable on the
#                                      client, peer and admin ports and for dialing peers
#                                      (extended key usage serverAuth + clientAuth); subject
#                                      alternative names 127.0.0.1, ::1, localhost and --hosts
#   DIR/client-NAME.crt, .key          a client certificate (clientAuth only) whose CN is the
#                                      user NAME; "root" (the built-in administrator) is always
#                                      made, --user adds more
#
# Defaults: DIR=certs, N=3, D=365 days. Keys are EC P-256, readable by the owner only. Existing
# certificates are kept; delete a file to make it again (e.g. to renew it — running nodes
# reload changed files by themselves).
set -euo pipefail

DIR=certs
NODES=3
HOSTS=""
DAYS=365
USERS=(root)

die() {
  echo "make_certs: $*" >&2
  exit 1
}

while (($# > 0)); do
  case "$1" in
    --dir) DIR=${2:?--dir needs a value}; shift 2 ;;
    --dir=*) DIR=${1#*=}; shift ;;
    --nodes) NODES=${2:?}; shift 2 ;;
    --nodes=*) NODES=${1#*=}; shift ;;
    --hosts) HOSTS=${2:?}; shift 2 ;;
    --hosts=*) HOSTS=${1#*=}; shift ;;
    --user) USERS+=("${2:?}"); shift 2 ;;
    --user=*) USERS+=("${1#*=}"); shift ;;
    --days) DAYS=${2:?}; shift 2 ;;
    --days=*) DAYS=${1#*=}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $NODES =~ ^[0-9]+$ ]] && ((NODES >= 1)) || die "--nodes must be a positive number"
[[ $DAYS =~ ^[0-9]+$ ]] && ((DAYS >= 1)) || die "--days must be a positive number"
command -v openssl >/dev/null || die "openssl not found (Debian: apt-get install openssl)"

mkdir -p "$DIR"
umask 077
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [[ ! -f $DIR/ca.crt || ! -f $DIR/ca.key ]]; then
  new_key "$DIR/ca.key"
  openssl req -x509 -new -key "$DIR/ca.key" -sha256 -days 3650 -subj "/O=RingKV/CN=RingKV CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$DIR/ca.crt"
  echo "make_certs: made CA $DIR/ca.crt (valid 10 years)"
fi

# issue NAME CN EKU [SAN]: DIR/NAME.crt and .key signed by the CA.
issue() {
  local name=$1 cn=$2 eku=$3 san=${4:-}
  [[ -f $DIR/$name.crt && -f $DIR/$name.key ]] && return 0
  new_key "$DIR/$name.key"
  openssl req -new -key "$DIR/$name.key" -subj "/O=RingKV/CN=$cn" -out "$TMP/$name.csr"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [[ -n $san ]] && echo "subjectAltName=$san"
  } >"$TMP/$name.ext"
  openssl x509 -req -in "$TMP/$name.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" \
    -CAcreateserial -CAserial "$DIR/ca.srl" -days "$DAYS" -sha256 -extfile "$TMP/$name.ext" \
    -out "$DIR/$name.crt" 2>/dev/null
  echo "make_certs: made $DIR/$name.crt (CN=$cn, $eku, $DAYS days)"
}

SAN="IP:127.0.0.1,IP:::1,DNS:localhost"
IFS=',' read -r -a extra <<<"$HOSTS"
for h in "${extra[@]}"; do
  [[ -z $h ]] && continue
  if [[ $h =~ ^[0-9.]+$ || $h == *:* ]]; then SAN+=",IP:$h"; else SAN+=",DNS:$h"; fi
done

for ((k = 1; k <= NODES; k++)); do
  issue "node-$k" "node-$k" "serverAuth,clientAuth" "$SAN"
done
for u in "${USERS[@]}"; do
  [[ $u =~ ^[A-Za-z0-9._@-]+$ ]] || die "user name '$u' must be letters, digits, . _ @ -"
  issue "client-$u" "$u" "clientAuth"
done
