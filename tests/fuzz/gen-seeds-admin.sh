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
seed portal '{"cmd":"portal.add","args":{"address":"127.0.0.1:3261","tpgt":2}}' \
	'{"cmd":"portal.add","args":{"address":"[::1]:3262","transport":"tcp"}}' \
	'{"cmd":"portal.list"}' \
	'{"cmd":"portal.remove","args":{"address":"127.0.0.1:3261","drop_sessions":true}}'
seed lunstate '{"cmd":"target.add","args":{"target":"'$T'"}}' \
	'{"cmd":"lun.resize","args":{"target":"'$T'","lun":0,"size":"1G"}}' \
	'{"cmd":"lun.offline","args":{"target":"'$T'","lun":0}}' \
	'{"cmd":"lun.online","args":{"target":"'$T'","lun":0}}' \
	'{"cmd":"auth.set","args":{"target":"'$T'","method":"chap","user":"u","secret":"0123456789ab","algorithms":"sha256,md5"}}' \
	'{"cmd":"target.remove","args":{"target":"'$T'"}}' \
	'{"cmd":"target.add","args":{"target":"'$T'"}}'
seed bad '{"cmd":' '[1]' '{"cmd":"nope"}' '{"cmd":"target.add","args":[]}' \
	'{"cmd":"target.add","args":{"target":"iqn.x","tpgt":-1}}'
