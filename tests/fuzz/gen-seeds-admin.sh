#!/bin/sh
# Writes the seeds of tests/fuzz/fuzz_admin into DIR (default
# tests/fuzz/seeds/admin): request lines as xtgtadm sends them.
set -eu
dir=${1:-$(dirname "$0")/seeds/admin}
mkdir -p "$dir"
T=iqn.2026-11.org.xiscsi:f
seed() { name=$1; shift; printf '%s\n' "$@" >"$dir/$name"; }
seed target '{"cmd":"target.add","args":{"target":"'$T'","alias":"a b","tpgt":2}}' \
	'{"cmd":"target.add","args":{"target":"'$T'","alias":"a b","tpgt":2}}' \
	'{"cmd":"target.list"}' '{"cmd":"target.remove","args":{"target":"'$T'","force":true}}'
seed acl '{"cmd":"target.add","args":{"target":"'$T'"}}' \
	'{"cmd":"acl.add","args":{"target":"'$T'","initiator":"iqn.2026-11.x:i"}}' \
	'{"cmd":"acl.list","args":{"target":"'$T'"}}' \
	'{"cmd":"acl.remove","args":{"target":"'$T'","initiator":"iqn.2026-11.x:i"}}'
seed auth '{"cmd":"target.add","args":{"target":"'$T'"}}' \
	'{"cmd":"auth.set","args":{"target":"'$T'","method":"chap","user":"u","secret":"0123456789ab","mutual_user":"m","mutual_secret":"ba9876543210"}}' \
	'{"cmd":"auth.set","args":{"target":"discovery","method":"none"}}' \
	'{"cmd":"config.show","args":{"secrets":true}}'
seed misc '{"cmd":"stats"}' '{"cmd":"session.list"}' '{"cmd":"session.drop","args":{"tsih":1}}' \
	'{"cmd":"portal.list"}' '{"cmd":"lun.remove","args":{"target":"x","lun":0}}'
seed bad '{"cmd":' '[1]' '{"cmd":"nope"}' '{"cmd":"target.add","args":[]}' \
	'{"cmd":"target.add","args":{"target":"iqn.x","tpgt":-1}}'
