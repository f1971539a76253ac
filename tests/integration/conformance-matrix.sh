#!/bin/bash
# libiscsi's conformance suite (iscsi-test-cu) against xtgtd over a matrix of
# LUN profiles, with tgtd's results on the same profiles beside ours.
#
# Profiles, one LUN each on one target behind two portals (the second URL
# turns libiscsi's MultipathIO suite on; the suite's second initiator,
# iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test-2, is let in):
#   plain      512-byte blocks
#   4096       4096-byte blocks
#   thin       512, thin provisioned (UNMAP, WRITE SAME UNMAP, GET LBA STATUS)
#   removable  512, removable medium, thin (PreventAllow, StartStopUnit,
#              NoMedia: UNMAP on an ejected medium too)
#   wp         512, write protected, thin (ReadOnly: UNMAP and WRITE SAME
#              UNMAP get DATA PROTECT too)
#   lbppb      512 on 4096-byte physical blocks, thin (the LBPPB >= 2 tests)
#   file       512, thin, on a sparse file (the file store; holes are
#              deallocated blocks), full mode only
#   crypt      512, thin, on a file encrypted at rest (crypt: AES-256-XTS,
#              key in <file>.key), which offers SANITIZE CRYPTO ERASE. Thin
#              because libiscsi 1.19's Sanitize.CryptoErase checks WABEREQ
#              (BLOCK ERASE's field), not WACEREQ, after the erase.
#
# XI_CONFORMANCE_FULL=1: every profile runs the SCSI and iSCSI families, the
# SANITIZE suite runs with -S on the thin and crypt profiles (Overwrite and
# Reset take a minute or two at the sanitize pace; one URL, see
# run_profile), and tgtd
# gets the same runs. The Markdown report goes to stdout, and to
# $XI_CONFORMANCE_REPORT when set; the per-test results (test, target,
# profile, class, reason) go to ${XI_CONFORMANCE_REPORT%.md}.tsv.
# Default (make check): xtgtd only; thin runs both families and the quick
# SANITIZE suites with -S, removable the suites that need a removable
# medium, wp the SCSI family, lbppb the suites that need LBPPB >= 2, crypt
# the CRYPTO ERASE suites with -S and a few that read and write.
#
# The test fails when any test fails on xtgtd, except, on the wp profile, a
# test whose every failure is DATA PROTECT / WRITE PROTECTED (or one of
# WP_WRITERS below): such a test writes and expects GOOD (the suite has no
# writable-LUN check for it); and a SUITE_BUGS test on its profile. Either
# must then pass cleanly on another profile. In full mode the test also
# fails when a test passes cleanly on no profile for a reason outside
# ACCEPTED_SKIPS below. tgtd's numbers never fail the test.
#
# The removable profile runs without the second URL: with one, libiscsi's
# PreventAllow.2ITNexuses takes the multipath session as its second nexus,
# whose first command then reports the unit attention that
# PreventAllow.LUNReset left there (a logical unit reset gives every I_T
# nexus one, SAM-5); tgtd does the same.
. "$(dirname "$0")/lib.sh"

xi_need_cmd iscsi-test-cu libiscsi-bin
XTGTD=$top_builddir/target/xtgtd
[ -x "$XTGTD" ] || xi_fail "$XTGTD not built"

FULL=${XI_CONFORMANCE_FULL:-0}
PROFILES="plain 4096 thin removable wp lbppb file crypt"
IQN=iqn.2026-11.org.xiscsi:matrix
TGT_IQN=iqn.2026-11.org.xiscsi:tgtd-matrix
# Reasons a test may pass cleanly on no profile: none now. (CRYPTO ERASE,
# once skipped everywhere, runs on the crypt profile.)
ACCEPTED_SKIPS='^$'
# Tests that write, want GOOD, and on a write-protected LUN fail saying
# nothing (Write10.Async, iSCSITMF.AbortTaskSimpleAsync: their WRITEs must
# not end in CHECK CONDITION), or saying DATA PROTECT first and then what
# the test concludes from it (Unmap.VPD, WriteSame1x.UnmapVPD take a failed
# UNMAP as "not implemented" and then want LBPU / LBPWS clear).
WP_WRITERS='Write10.Async|iSCSITMF.AbortTaskSimpleAsync|Unmap.VPD|WriteSame10.UnmapVPD|WriteSame16.UnmapVPD'
# PROFILE:TEST that fail on a target doing what the standard says:
# GetLBAStatus.UnmapSingle asks for the status at LBA n+1 and wants the
# first descriptor to start at n+LBPPB; SBC-4 5.8.2 puts the requested LBA
# there. Clean where LBPPB is 1 (thin).
SUITE_BUGS='lbppb:GetLBAStatus.UnmapSingle'
# Tests that skip a LUN that is not removable saying so only with -V (at
# LOG_VERBOSE): GOOD there tested nothing, so they count as skipped
# everywhere but on the removable profile.
SILENT_SKIPS='NoMedia.NoMediaSBC|StartStopUnit.PwrCnd|StartStopUnit.NoLoej'

xt_spec() {
	case $1 in
	plain) echo ram:64M ;;
	4096) echo ram:64M,bs=4096 ;;
	thin) echo ram:128M,thin ;;
	removable) echo ram:64M,removable,thin ;;
	wp) echo ram:16M,ro,thin ;;
	lbppb) echo ram:64M,thin,pbs=4096 ;;
	file) echo "file:$XI_TMP/xtgtd-file.img,size=64M,thin" ;;
	crypt) echo "file:$XI_TMP/xtgtd-crypt.img,size=64M,thin,crypt" ;;
	esac
}

# CUnit's normal output -> "SUITE.TEST<TAB>clean|skipped|failed<TAB>reason".
# A passed test that printed [SKIPPED] tested nothing: skipped. A failed
# test whose every [FAILED] line is DATA PROTECT gets "[WP] " before its
# reason.
cat >"$XI_TMP/parse.awk" <<'EOF'
function close_test(res,   why) {
	if (cur == "")
		return
	if (res == "passed")
		res = skip != "" ? "skipped" : "clean"
	else
		res = "failed"
	why = res == "skipped" ? skip : res == "failed" ? fail : ""
	if (res == "failed" && fail != "" && allwp)
		why = "[WP] " why
	gsub(/\t/, " ", why)
	printf "%s.%s\t%s\t%s\n", suite, cur, res, why
	cur = ""
}
function note(s) {
	if (s ~ /\[SKIPPED\]/ && skip == "") {
		skip = s
		sub(/^.*\[SKIPPED\] */, "", skip)
	}
	if (s ~ /\[FAILED\]/) {
		if (fail == "") {
			fail = s
			sub(/^.*\[FAILED\] */, "", fail)
		}
		if (s !~ /DATA PROTECTION|WRITE_PROTECTED|\(0x07\)\/\(0x2700\)/)
			allwp = 0
	}
}
/^Suite: / { close_test("passed"); suite = substr($0, 8); next }
/^  Test: / {
	rest = $0
	sub(/^  Test: /, "", rest)
	name = rest
	sub(/ \.\.\..*$/, "", name)
	sub(/^[^.]*\.\.\./, "", rest)
	cur = name; skip = ""; fail = ""; allwp = 1
	line = rest
}
!/^  Test: / { line = $0 }
{
	if (cur == "")
		next
	if (line ~ /^passed/) { close_test("passed"); next }
	if (line ~ /^FAILED/) { close_test("FAILED"); next }
	note(line)
}
EOF

RES=$XI_TMP/res
mkdir -p "$RES"

# run_cu TAG PROFILE FAMILY TESTPATTERN FLAGS URL...: one iscsi-test-cu run;
# its per-test results are laid over $RES/TAG.PROFILE.FAMILY (a later run of
# the same test replaces the earlier result).
run_cu() {
	local tag=$1 prof=$2 fam=$3 pat=$4 flags=$5 out ran parsed
	shift 5
	out=$XI_TMP/$tag.$prof.$(tr -c 'A-Za-z0-9\n' _ <<<"$pat").out
	# shellcheck disable=SC2086
	timeout 900 iscsi-test-cu -d $flags -t "$pat" "$@" >"$out" 2>&1
	read -r _ _ ran _ < <(grep -E '^ +tests ' "$out")
	awk -f "$XI_TMP/parse.awk" "$out" >"$out.res"
	parsed=$(wc -l <"$out.res")
	if [ -z "${ran:-}" ] || [ "$ran" -ne "$parsed" ]; then
		echo "$tag $prof $pat: CUnit ran ${ran:-none}, parsed $parsed; last lines:"
		tail -n 15 "$out"
		[ "$tag" = xtgtd ] && xi_fail "iscsi-test-cu $pat on $tag/$prof gave no readable result"
		return 0
	fi
	touch "$RES/$tag.$prof.$fam"
	cat "$RES/$tag.$prof.$fam" "$out.res" | awk -F'\t' '
		!($1 in r) { k[++n] = $1 } { r[$1] = $0 }
		END { for (i = 1; i <= n; i++) print r[k[i]] }' >"$RES/tmp" &&
		mv "$RES/tmp" "$RES/$tag.$prof.$fam"
}

# run_profile TAG PROFILE URL1 URL2
run_profile() {
	local tag=$1 prof=$2 u1=$3 u2=$4 urls
	urls="$u1 $u2"
	[ "$prof" = removable ] && urls=$u1
	# shellcheck disable=SC2086
	if [ "$FULL" = 1 ]; then
		run_cu "$tag" "$prof" SCSI SCSI "" $urls
		run_cu "$tag" "$prof" iSCSI iSCSI "" $urls
		# One URL: with a second, Sanitize.Reservations leaves its RESERVE(6)
		# on the multipath session, and Sanitize.Reset's SANITIZE then meets
		# RESERVATION CONFLICT.
		case $prof in
		thin | crypt) run_cu "$tag" "$prof" SCSI SCSI.Sanitize -S "$u1" ;;
		esac
	else
		case $prof in
		thin)
			run_cu "$tag" "$prof" SCSI SCSI "" $urls
			run_cu "$tag" "$prof" iSCSI iSCSI "" $urls
			for s in BlockErase BlockEraseReserved ExitFailureMode InvalidServiceAction \
				OverwriteReserved Readonly Reservations; do
				run_cu "$tag" "$prof" SCSI "SCSI.Sanitize.$s" -S "$u1"
			done
			;;
		removable)
			for s in SCSI.PreventAllow SCSI.StartStopUnit SCSI.NoMedia; do
				run_cu "$tag" "$prof" SCSI "$s" "" $urls
			done
			;;
		wp)
			run_cu "$tag" "$prof" SCSI SCSI "" $urls
			;;
		lbppb)
			for s in SCSI.WriteSame10 SCSI.WriteSame16 SCSI.CompareAndWrite; do
				run_cu "$tag" "$prof" SCSI "$s" "" $urls
			done
			;;
		crypt)
			for s in CryptoErase CryptoEraseReserved InvalidServiceAction Readonly \
				Reservations; do
				run_cu "$tag" "$prof" SCSI "SCSI.Sanitize.$s" -S "$u1"
			done
			for s in SCSI.Read16 SCSI.Write16 SCSI.Unmap SCSI.CompareAndWrite; do
				run_cu "$tag" "$prof" SCSI "$s" "" $urls
			done
			;;
		esac
	fi
}

# ---- xtgtd
truncate -s 64M "$XI_TMP/xtgtd-file.img"
P1=$(xi_free_port)
P2=$(xi_free_port)
[ "$P1" != "$P2" ] || P2=$(xi_free_port)
lunargs=()
for p in $PROFILES; do
	lunargs+=(--lun "$(xt_spec "$p")")
done
xi_bg xtgtd "$XTGTD" -f --listen "127.0.0.1:$P1" --listen "127.0.0.1:$P2" --target "$IQN" \
	"${lunargs[@]}"
XT_PID=$XI_LAST_PID
xi_wait_port 127.0.0.1 "$P1"
xi_wait_port 127.0.0.1 "$P2"
lun=0
for p in $PROFILES; do
	SECONDS=0
	run_profile xtgtd "$p" "iscsi://127.0.0.1:$P1/$IQN/$lun" "iscsi://127.0.0.1:$P2/$IQN/$lun"
	kill -0 "$XT_PID" 2>/dev/null || xi_fail "xtgtd died during profile $p"
	echo "xtgtd $p: ${SECONDS}s"
	lun=$((lun + 1))
done
xi_stop "$XT_PID" || xi_fail "xtgtd exit status $?"

# ---- tgtd, same profiles, LUN n+1 (its LUN 0 is a controller)
TGT_NOTE=""
if [ "$FULL" = 1 ]; then
	if ! command -v tgtd >/dev/null 2>&1 || ! command -v tgtadm >/dev/null 2>&1; then
		TGT_NOTE="tgtd not found (Debian package tgt): no comparison"
	elif [ "$(id -u)" -ne 0 ]; then
		TGT_NOTE="tgtd needs root: no comparison"
	else
		T1=$(xi_free_port)
		T2=$(xi_free_port)
		CP=$((10000 + RANDOM % 20000))
		xi_bg tgtd tgtd -f -C "$CP" --iscsi "portal=127.0.0.1:$T1"
		TG_PID=$XI_LAST_PID
		xi_wait_port 127.0.0.1 "$T1"
		ta() { tgtadm -C "$CP" --lld iscsi "$@"; }
		ta --op new --mode portal --param "portal=127.0.0.1:$T2" &&
			ta --op new --mode target --tid 1 -T "$TGT_IQN" || xi_fail "tgtadm setup"
		lun=1
		for p in $PROFILES; do
			img=$XI_TMP/tgt-$p.img
			bsopt=()
			case $p in
			wp) truncate -s 16M "$img" ;;
			thin) truncate -s 128M "$img" ;;
			*) truncate -s 64M "$img" ;;
			esac
			[ "$p" = 4096 ] && bsopt=(--blocksize 4096)
			ta --op new --mode logicalunit --tid 1 --lun "$lun" -b "$img" "${bsopt[@]}" ||
				xi_fail "tgtadm: LUN $lun ($p)"
			case $p in
			thin | file | crypt) prm=thin_provisioning=1 ;;
			removable) prm=removable=1,thin_provisioning=1 ;;
			wp) prm=readonly=1,thin_provisioning=1 ;;
			lbppb) prm=thin_provisioning=1,lbppbe=3 ;;
			*) prm="" ;;
			esac
			if [ -n "$prm" ]; then
				ta --op update --mode logicalunit --tid 1 --lun "$lun" --params "$prm" ||
					xi_fail "tgtadm: LUN $lun ($p) params $prm"
			fi
			lun=$((lun + 1))
		done
		ta --op bind --mode target --tid 1 -I ALL || xi_fail "tgtadm bind"
		xi_wait_port 127.0.0.1 "$T2"
		lun=1
		for p in $PROFILES; do
			SECONDS=0
			run_profile tgtd "$p" "iscsi://127.0.0.1:$T1/$TGT_IQN/$lun" \
				"iscsi://127.0.0.1:$T2/$TGT_IQN/$lun"
			echo "tgtd $p: ${SECONDS}s"
			if ! kill -0 "$TG_PID" 2>/dev/null; then
				TGT_NOTE="tgtd died during profile $p; later profiles have no tgtd numbers"
				break
			fi
			lun=$((lun + 1))
		done
		# tgtd may not stop on SIGTERM with targets configured.
		kill -TERM "$TG_PID" 2>/dev/null
		for _ in $(seq 1 30); do
			kill -0 "$TG_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$TG_PID" 2>/dev/null
		wait "$TG_PID" 2>/dev/null
	fi
fi

# ---- the report
# Every result as "FAMILY.SUITE.TEST TARGET PROFILE CLASS REASON", CLASS one
# of clean, skipped, failed, wp-write (failed on wp with DATA PROTECT only,
# or a WP_WRITERS test failing there silently or with DATA PROTECT first),
# suite-bug (SUITE_BUGS).
for tag in xtgtd tgtd; do
	for p in $PROFILES; do
		for fam in SCSI iSCSI; do
			f=$RES/$tag.$p.$fam
			[ -f "$f" ] && awk -F'\t' -v t="$tag" -v p="$p" -v fam="$fam" \
				-v writers="$WP_WRITERS" -v bugs="$SUITE_BUGS" -v silent="$SILENT_SKIPS" '
				BEGIN {
					n = split(writers, a, /\|/); for (i = 1; i <= n; i++) ww[a[i]] = 1
					n = split(bugs, a, / /); for (i = 1; i <= n; i++) sb[a[i]] = 1
					n = split(silent, a, /\|/); for (i = 1; i <= n; i++) ss[a[i]] = 1
				}
				{
					c = $2
					if (c == "failed" && p == "wp" && ($3 ~ /^\[WP\]/ ||
					    (($1 in ww) && ($3 == "" || $3 ~ /DATA PROTECTION/))))
						c = "wp-write"
					else if (c == "failed" && ((p ":" $1) in sb))
						c = "suite-bug"
					if (c == "clean" && ($1 in ss) && p != "removable") {
						c = "skipped"
						$3 = "LUN is not removable (said only with -V)"
					}
					print fam "." $1 "\t" t "\t" p "\t" c "\t" $3
				}' "$f"
		done
	done
done >"$XI_TMP/tests.tsv"

# count TAG PROFILE FAMILY -> "clean / skipped / failed [(+N wp-write, +M suite-bug)]"
count() {
	awk -F'\t' -v t="$1" -v p="$2" -v fam="$3" '
		$2 == t && $3 == p && index($1, fam ".") == 1 { n[$4]++; any = 1 }
		END {
			if (!any) { print "-"; exit }
			x = ""
			if (n["wp-write"]) x = "+" n["wp-write"] " wp-write"
			if (n["suite-bug"]) x = x (x ? ", " : "") "+" n["suite-bug"] " suite-bug"
			printf "%d / %d / %d%s\n", n["clean"], n["skipped"], n["failed"], x ? " (" x ")" : ""
		}' "$XI_TMP/tests.tsv"
}

{
	echo "### iscsi-test-cu $(dpkg-query -W -f '${Version}' libiscsi-bin 2>/dev/null)," \
		"$([ "$FULL" = 1 ] && echo "full matrix" || echo "make-check subset")"
	echo
	echo "clean / skipped / failed per family and profile. wp-write: on the"
	echo "write-protected LUN, a test that writes and expects GOOD, failing only with"
	echo "DATA PROTECT. suite-bug: a test that cannot pass on this profile (see the"
	echo "script). Neither counts as failed when the test is clean on another profile."
	echo
	echo "| profile | xtgtd SCSI | xtgtd iSCSI | tgtd SCSI | tgtd iSCSI |"
	echo "|---|---|---|---|---|"
	for p in $PROFILES; do
		echo "| $p | $(count xtgtd "$p" SCSI) | $(count xtgtd "$p" iSCSI) |" \
			"$(count tgtd "$p" SCSI) | $(count tgtd "$p" iSCSI) |"
	done
	if [ -n "$TGT_NOTE" ]; then
		echo
		echo "tgtd: $TGT_NOTE"
	fi
} >"$XI_TMP/report.md"

# xtgtd: failures; wp-write and suite-bug results of tests clean nowhere;
# tests clean nowhere.
bad=$(awk -F'\t' '$2 == "xtgtd" && $4 == "failed" { print $1 " on " $3 ": " $5 }' \
	"$XI_TMP/tests.tsv")
excused=$(awk -F'\t' '
	$2 == "xtgtd" && $4 == "clean" { ok[$1] = 1 }
	$2 == "xtgtd" && ($4 == "wp-write" || $4 == "suite-bug") { w[$1] = $3 " (" $4 ")" }
	END { for (t in w) if (!(t in ok)) print t " on " w[t] }' "$XI_TMP/tests.tsv")
# A test clean nowhere, with its skip reasons (profiles that ran it without
# -S apart, when it ran with -S somewhere).
never=$(awk -F'\t' '
	$2 == "xtgtd" { seen[$1] = 1; if ($4 == "clean") ok[$1] = 1 }
	$2 == "xtgtd" && $4 == "skipped" && !(($1 SUBSEP $5) in dup) {
		dup[$1, $5] = 1
		r = $3 ": " $5
		if ($5 ~ /allow-sanitize flag is not set/) gen[$1] = gen[$1] (gen[$1] ? "; " : "") r
		else why[$1] = why[$1] (why[$1] ? "; " : "") r
	}
	END { for (t in seen) if (!(t in ok)) print t "\t" (t in why ? why[t] : gen[t]) }' \
	"$XI_TMP/tests.tsv" | sort)

if [ "$FULL" = 1 ]; then
	{
		echo
		echo "Tests clean on no xtgtd profile:"
		echo
		if [ -n "$never" ]; then
			echo "| test | skipped because (profile: reason) |"
			echo "|---|---|"
			awk -F'\t' '{ print "| " $1 " | " $2 " |" }' <<<"$never"
		else
			echo "none"
		fi
	} >>"$XI_TMP/report.md"
fi
cat "$XI_TMP/report.md"
if [ -n "${XI_CONFORMANCE_REPORT:-}" ]; then
	cp "$XI_TMP/report.md" "$XI_CONFORMANCE_REPORT"
	cp "$XI_TMP/tests.tsv" "${XI_CONFORMANCE_REPORT%.md}.tsv"
fi

[ -z "$bad" ] || xi_fail "failed on xtgtd:
$bad"
[ -z "$excused" ] || xi_fail "failed (write-protected or suite bug) and clean on no other profile:
$excused"
if [ "$FULL" = 1 ] && [ -n "$never" ]; then
	unexplained=$(grep -Ev -- "$ACCEPTED_SKIPS" <<<"$never" || true)
	[ -z "$unexplained" ] || xi_fail "clean on no profile:
$unexplained"
fi
exit 0
