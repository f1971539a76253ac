#!/bin/bash
# crypt on a block device (a loop device): where its key lives, and that a
# device holding data is never started over with a new key.
#  - without crypt-key= the LUN is refused (beside /dev/loopN the key would
#    be in /dev, gone at the next boot), and nothing is written to /dev;
#  - with crypt-key= on a zeroed device: data written through iSCSI reads
#    back, the device holds ciphertext, and a restart with the key reads the
#    data again;
#  - with the key file gone the LUN is refused, the reason names the key,
#    no new key appears, and the device is unchanged.
. "$(dirname "$0")/lib.sh"

xi_need_root
xi_need_cmd losetup mount
xi_need_cmd qemu-img qemu-utils
qemu-img --help 2>/dev/null | grep -q iscsi || xi_skip "qemu-img has no iSCSI driver (qemu-block-extra)"
XTGTD=$top_builddir/target/xtgtd
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"
IQN=iqn.2026-12.org.xiscsi:cryptdev
LOOP=""
trap 'rc=$?; [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null; (exit $rc); xi_cleanup' EXIT

truncate -s 32M "$XI_TMP/dev.img"
LOOP=$(losetup --find --show "$XI_TMP/dev.img" 2>/dev/null) ||
	xi_skip "no loop device could be set up here"
head -c 8M /dev/urandom >"$XI_TMP/src.img"
KEY=$XI_TMP/keys/dev.key
mkdir -p "$XI_TMP/keys"

# refused SPEC NEEDLE...: xtgtd exits at start with a reason holding each NEEDLE.
refused() {
	local spec=$1 out n
	shift
	PORT=$(xi_free_port)
	out=$(timeout 20 "$XTGTD" -f --transport tcp --listen "127.0.0.1:$PORT" \
		--target "$IQN" --lun "$spec" 2>&1) && xi_fail "'$spec' was accepted: $out"
	for n in "$@"; do
		grep -qF -- "$n" <<<"$out" || xi_fail "'$spec': reason lacks '$n': $out"
	done
}

start() {
	PORT=$(xi_free_port)
	xi_bg "xtgtd-$1" "$XTGTD" -f --transport tcp --listen "127.0.0.1:$PORT" \
		--target "$IQN" --lun "file:$LOOP,crypt,crypt-key=$KEY"
	XT_PID=$XI_LAST_PID
	xi_wait_port 127.0.0.1 "$PORT"
	URL=iscsi://127.0.0.1:$PORT/$IQN/0
}

# 1. No crypt-key= on a device: refused, and no key in /dev.
refused "file:$LOOP,crypt" "crypt-key=" "$LOOP"
[ -e "$LOOP.key" ] && xi_fail "a key was written to $LOOP.key"

# 2. With crypt-key= on a zeroed device: a key is made, data round-trips.
start first
[ -f "$KEY" ] || xi_fail "no key at $KEY"
[ "$(stat -c %a "$KEY")" = 600 ] || xi_fail "key mode $(stat -c %a "$KEY"), not 600"
timeout 60 qemu-img convert -n -f raw -O raw "$XI_TMP/src.img" "$URL" || xi_fail "qemu-img convert"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $? after SIGTERM"
cmp -s -n 8M "$XI_TMP/src.img" "$LOOP" && xi_fail "the device holds the plaintext"
start second
out=$(timeout 60 qemu-img compare -f raw -F raw "$XI_TMP/src.img" "$URL" 2>&1)
grep -q 'Images are identical' <<<"$out" || xi_fail "after restart: qemu-img compare: $out"
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $? after SIGTERM"

# 3. The key lost: refused, no new key, the device untouched.
sum=$(md5sum <"$LOOP")
mv "$KEY" "$XI_TMP/key.saved"
refused "file:$LOOP,crypt,crypt-key=$KEY" "holds data" "$KEY"
[ -e "$KEY" ] && xi_fail "a new key was made over a device that holds data"
[ "$(md5sum <"$LOOP")" = "$sum" ] || xi_fail "the device changed while its LUN was refused"
echo "ok: crypt on $LOOP: refused without crypt-key=, round trip and restart with it, refused when the key is lost"
exit 0
