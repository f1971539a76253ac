#!/bin/bash
# Data integrity through fio: fio-jobs/verify.fio (CRC32C in every block,
# written then read back and checked) through fio's libiscsi engine, and
# through the xiscsi engine when it is built, against xtgtd and tgtd.
# Passes only if every pair that could run verified; skips (77) with the
# reason when fio, or every target, is missing. Nothing is fetched here:
# fio comes from fio-jobs/get-fio, run beforehand.
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/integration/lib.sh"

fio=${FIO:-$(ls -d "$top_builddir"/fio-jobs/build/fio-*/fio "$top_srcdir"/fio-jobs/build/fio-*/fio \
	2>/dev/null | head -n 1)}
[ -n "$fio" ] && [ -x "$fio" ] || xi_skip "no fio with the libiscsi engine: run fio-jobs/get-fio first"
"$fio" --enghelp 2>/dev/null | grep -qw libiscsi ||
	xi_skip "$fio has no libiscsi engine: rerun fio-jobs/get-fio"

size=8M
lun_size=64M
urls=""
skipped=""

xtgtd=$top_builddir/target/xtgtd
if [ -x "$xtgtd" ]; then
	port=$(xi_free_port)
	iqn=iqn.2026-01.io.xiscsi:fio-verify
	xi_bg xtgtd "$xtgtd" -f --listen "127.0.0.1:$port" --target "$iqn" \
		--lun "ram:$lun_size" --transport tcp --threads 1
	xi_wait_port 127.0.0.1 "$port"
	lun=0
	if command -v iscsi-ls >/dev/null 2>&1; then
		l=$(iscsi-ls -s "iscsi://127.0.0.1:$port" 2>/dev/null |
			sed -n 's/^Lun:\([0-9]*\).*DIRECT_ACCESS.*/\1/p' | head -n 1)
		[ -n "$l" ] && lun=$l
	fi
	urls="$urls xtgtd=iscsi://127.0.0.1:$port/$iqn/$lun"
else
	skipped="$skipped xtgtd(not built)"
fi

if ! command -v tgtd >/dev/null 2>&1; then
	skipped="$skipped tgtd(not installed, Debian package tgt)"
elif [ "$(id -u)" -ne 0 ]; then
	skipped="$skipped tgtd(needs root)"
else
	port=$(xi_free_port)
	ctl=$((1000 + $(od -An -N2 -tu2 /dev/urandom) % 30000)) # apart from any other tgtd
	iqn=iqn.2026-01.io.xiscsi:fio-verify-tgtd
	truncate -s "$lun_size" "$XI_TMP/tgtd.img"
	xi_bg tgtd tgtd -f -C "$ctl" --iscsi "portal=127.0.0.1:$port"
	xi_wait_port 127.0.0.1 "$port"
	{ tgtadm -C "$ctl" --lld iscsi --op new --mode target --tid 1 -T "$iqn" &&
		tgtadm -C "$ctl" --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 \
			-b "$XI_TMP/tgtd.img" &&
		tgtadm -C "$ctl" --lld iscsi --op bind --mode target --tid 1 -I ALL; } \
		>>"$XI_TMP/tgtadm.log" 2>&1 || xi_fail "tgtadm could not set up the LUN"
	urls="$urls tgtd=iscsi://127.0.0.1:$port/$iqn/1"
fi

[ -n "$urls" ] || xi_skip "no target to verify against:$skipped"

engines="libiscsi"
so=$top_builddir/fio-jobs/engine/xiscsi.so
if [ -f "$so" ]; then
	engines="$engines external:$so"
else
	skipped="$skipped xiscsi-engine(not built: configure --with-fio-src)"
fi

n=0
for tu in $urls; do
	t=${tu%%=*}
	url=${tu#*=}
	for e in $engines; do
		n=$((n + 1))
		log=$XI_TMP/verify-$n.log
		if ! ENGINE=$e FILENAME=$(printf '%s' "$url" | sed 's/:/\\:/g') SIZE=$size RUNTIME=0 \
			timeout -k 5 120 "$fio" --output="$log" "$top_srcdir/fio-jobs/verify.fio" \
			>"$XI_TMP/fio-$n.out" 2>&1; then
			cat "$log" "$XI_TMP/fio-$n.out" 2>/dev/null | tail -n 30
			xi_fail "verify through ${e##*/} against $t ($url)"
		fi
		echo "verified: ${e##*/} -> $t"
	done
done
[ -z "$skipped" ] || echo "not covered:$skipped"
exit 0
