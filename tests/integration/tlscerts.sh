#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tlscerts.sh DIR: make the test PKI for the TLS tests with `openssl`:
#   ca.crt/ca.key          the test CA
#   server.crt/.key        for 127.0.0.1 and localhost, signed by the CA
#   client.crt/.key        client certificate, signed by the CA
#   expired.crt/.key       for 127.0.0.1, valid 2020-01-01..2020-01-02
#   other.crt/.key         for other.example only (hostname mismatch)
#   wrongca.crt            an unrelated CA
# Everything is made fresh at test time (no key material in the tree).
set -euo pipefail
d=${1:?usage: tlscerts.sh DIR}
mkdir -p "$d"
cd "$d"
q() { "$@" >/dev/null 2>&1 || { echo "tlscerts: failed: $*" >&2; exit 1; }; }
q openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt \
  -days 2 -subj "/CN=syncq test CA"
q openssl req -x509 -newkey rsa:2048 -nodes -keyout wrongca.key \
  -out wrongca.crt -days 2 -subj "/CN=someone else's CA"
cat >ca.cnf <<CNF
[ca]
default_ca = t
[t]
dir = .
database = index.txt
serial = serial
new_certs_dir = .
certificate = ca.crt
private_key = ca.key
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
CNF
: >index.txt
echo 1000 >serial
# sign NAME SAN [ca args...]: NAME.key + NAME.crt signed by the test CA.
sign() {
  local name=$1 san=$2
  shift 2
  q openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" \
    -subj "/CN=$name" -addext "subjectAltName=$san"
  q openssl ca -batch -config ca.cnf -in "$name.csr" -out "$name.crt" -notext "$@"
}
sign server "IP:127.0.0.1,DNS:localhost" -days 2
sign client "DNS:syncq-client" -days 2
sign expired "IP:127.0.0.1,DNS:localhost" -startdate 20200101000000Z \
  -enddate 20200102000000Z
sign other "DNS:other.example" -days 2
chmod 600 ./*.key
