#!/bin/bash
# test_cli_lint.sh - npswatch lint (docs/cli.md "npswatch lint"): one SYNTHETIC MSP record per
# check, each built to trigger exactly that check, with the expected (line, check, severity)
# worked out here from the file (the line of each "Name:" is found with grep, not taken from the
# program); real records of the bundled library (spectra_db/data/swgdrug_3.4_dea.msp, records
# 1-6 unchanged) whose findings were checked by hand; TSV and JSON agree; --checks/--skip;
# --exit-code with --fail-on; a library .h5 built from the real records; bad inputs.
#
# Usage: bash test_cli_lint.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_lint.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_lint.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
SRC=${NPSW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LIBMSP=$SRC/spectra_db/data/swgdrug_3.4_dea.msp
[ -f "$LIBMSP" ] || { echo "FAIL: bundled data missing ($LIBMSP)"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1
export SOURCE_DATE_EPOCH=1767225600

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
show() { echo "---- $1:" >&2; sed 's/^/    /' "$1" | head -60 >&2; }
expect_exit() {
    local want=$1 label=$2
    shift 2
    "$@" >"$label.out" 2>"$label.err"
    local rc=$?
    [ "$rc" = "$want" ] || { fail "$label: exit $rc, expected $want"; show "$label.err"; show "$label.out"; }
}
expect_msg() { grep -qF -- "$2" "$1.err" || { fail "$1: no message containing '$2'"; show "$1.err"; }; }

# ---- SYNTHETIC records: one check each -------------------------------------------------------
# Base: amphetamine-like C10H15N, MW 149 (nominal: 10*12 + 15*1 + 14), a valid-form fake
# InChIKey per record, an accession, peaks at or below 149. Each record changes one thing.
rec() { # rec LABEL IKLETTER [extra key lines...] -- peaks...
    local label=$1 ik=$2
    shift 2
    echo "Name: SYNTHETIC $label"
    echo "Comments: SYNTHETIC record of test_cli_lint.sh"
    local formula="Formula: C10H15N" mw="MW: 149" acc="DB#: SYN-$label" key="InChIKey: ${ik}AAAAAAAAAAAAA-AAAAAAAAAA-N"
    while [ "$1" != "--" ]; do
        case "$1" in
        Formula:*) formula=$1 ;; MW:*) mw=$1 ;; DB#:*) acc=$1 ;; InChIKey:*) key=$1 ;;
        -formula) formula="" ;; -acc) acc="" ;; -key) key="" ;;
        *) echo "$1" ;;
        esac
        shift
    done
    shift
    for l in "$formula" "$mw" "$acc" "$key"; do [ -n "$l" ] && echo "$l"; done
    echo "Num Peaks: $#"
    for p in "$@"; do echo "$p"; done
    echo
}
{
    rec clean A -- "58 999" "91 200" "134 50" "149 30"
    rec few-peaks B -- "58 999" "91 200"
    rec non-positive C -- "58 999" "77 0" "91 201" "134 51"
    rec unsorted D -- "91 202" "58 999" "134 52" "149 31"
    rec dup-mz E -- "58 999" "91 203" "91 150" "134 53"
    PROFILE=()
    for i in $(seq 0 20); do PROFILE+=("$(python3 -c "print('%.1f' % (100 + $i * 0.1))") $((100 + i))"); done
    rec profile F -- "${PROFILE[@]}"
    rec above-mw G -- "58 999" "91 204" "134 54" "160 500"
    rec times-ten H -- "580 999" "910 205" "1340 55" "1490 32"
    rec above-prec I "PrecursorMZ: 150.1" -- "58.07 999" "91.05 206" "160.2 100"
    rec no-acc J -acc -- "58 999" "91 207" "134 56" "149 33"
    rec no-struct K -key -- "58 999" "91 208" "134 57" "149 34"
    rec no-formula L -formula -- "58 999" "91 209" "134 58" "149 35"
    rec bad-ik M "InChIKey: NOTAKEY" -- "58 999" "91 210" "134 59" "149 36"
    rec bad-cas N "CAS#: 300-62-8" -- "58 999" "91 211" "134 60" "149 37"
    rec bad-formula O "Formula: C10H15Xq" -- "58 999" "91 212" "134 61" "149 38"
    rec formula-mw P "MW: 163" -- "58 999" "91 213" "134 62" "149 39"
    rec dup-acc-1 Q "DB#: SYN-SAME" -- "58 999" "91 214" "134 63" "149 40"
    rec dup-acc-2 R "DB#: SYN-SAME" -- "58 999" "91 215" "134 64" "149 41"
    rec dup-spec-1 S -- "58 999" "91 216" "134 65" "149 42"
    rec dup-spec-2 T -- "58 999" "91 216" "134 65" "149 42"
    rec same-name-1 U "InChIKey: UUUUUUUUUUUUUU-AAAAAAAAAA-N" -- "58 999" "91 217" "134 66" "149 43"
    rec same-name-2 V "InChIKey: UUUUUUUUUUUUUU-AAAAAAAAAA-N" -- "44 999" "65 300" "77 400" "105 800"
    rec read-warning W -- "58 999" "91 218" "134 67" "149 44" | sed 's/^Num Peaks: 4/Num Peaks: 5/'
    printf 'Name: SYNTHETIC bad-record\nDB#: SYN-bad\nNum Peaks: 2\n58 999\nnot a peak\n\n'
} >syn.msp

L() { grep -n "^Name: SYNTHETIC $1\$" syn.msp | cut -d: -f1; }
BADLINE=$(grep -n "^not a peak" syn.msp | cut -d: -f1)
# expected rows: line check severity (sorted as the program sorts: by record, then check order)
cat >expected.tsv <<EOT
$(L few-peaks)	few-peaks	warning
$(L non-positive)	non-positive-intensity	warning
$(L unsorted)	unsorted-mz	note
$(L dup-mz)	duplicate-mz	warning
$(L profile)	profile-like	warning
$(L above-mw)	mz-above-mw	error
$(L times-ten)	mz-times-ten	error
$(L above-prec)	mz-above-precursor	warning
$(L no-acc)	missing-accession	warning
$(L no-struct)	missing-structure	warning
$(L no-formula)	missing-formula	warning
$(L bad-ik)	bad-inchikey	error
$(L bad-cas)	bad-cas	warning
$(L bad-formula)	bad-formula	error
$(L formula-mw)	formula-mw-mismatch	error
$(L dup-acc-1)	duplicate-accession	error
$(L dup-acc-2)	duplicate-accession	error
$(L dup-spec-2)	duplicate-spectrum	warning
$(L same-name-1)	same-name-different-spectrum	note
$(L same-name-2)	same-name-different-spectrum	note
$(L read-warning)	read-warning	note
$BADLINE	bad-record	error
EOT
expect_exit 0 syn "$BIN" lint --format tsv syn.msp
grep -v '^#' syn.out | tail -n +2 | awk -F'\t' '{print $2 "\t" $6 "\t" $7}' | sort -n >got.tsv
sort -n expected.tsv >want.tsv
diff want.tsv got.tsv >syn.diff || { fail "synthetic findings differ (want < > got)"; show syn.diff; }
# every row names its file and, for readable records, the record's name
[ "$(grep -v '^#' syn.out | tail -n +2 | cut -f1 | sort -u)" = syn.msp ] || fail "file column"
grep -qP "^syn.msp\t$(L above-mw)\t7\tSYNTHETIC above-mw\tSYN-above-mw\tmz-above-mw\terror\t1 peak above MW 149 \+ 2 x 0 \(Cl\+Br\+S\+Si\) \+ 2 = 151; highest m/z 160" syn.out ||
    { fail "mz-above-mw row"; show syn.out; }
grep -qF "every m/z is a multiple of 10 and divided by 10 fits (highest 149)" syn.out || fail "times-ten values"
grep -qF "MW 163 differs by more than 1 from formula C10H15N's nominal mass 149" syn.out || fail "formula-mw values"
grep -qF "CAS number '300-62-8' is not valid" syn.out || fail "bad-cas from the reader's warning"
grep -qF "unknown element 'Xq'" syn.out || fail "bad-formula message"
grep -qF "1 peak above precursor m/z 150.1 + 1.5" syn.out || fail "precursor values"
grep -qP "# count\tmz-above-mw\terror\t1$" syn.out || fail "summary count"
grep -qP "# input_file\tsyn.msp\tsha256=$(sha256sum syn.msp | cut -d' ' -f1)\tformat=msp\trecords=23\tunreadable=1$" syn.out ||
    { fail "input_file run record"; show syn.out; }

# JSON: the same findings, counts per severity
expect_exit 0 synj "$BIN" lint --format json syn.msp
python3 - synj.out want.tsv <<'PY' || fail "JSON findings differ from the expected"
import json, sys
d = json.load(open(sys.argv[1]))
got = sorted((f["line"], f["check"], f["severity"]) for f in d["findings"])
want = sorted((int(a), b, c) for a, b, c in (l.rstrip("\n").split("\t") for l in open(sys.argv[2])))
assert got == want, (got, want)
assert d["counts"] == {"error": 8, "warning": 10, "note": 4, "records_with_findings": 22}, d["counts"]
assert d["files"][0]["records"] == 23 and d["files"][0]["unreadable"] == 1
PY

# ---- --checks / --skip ---------------------------------------------------------------------
expect_exit 0 only "$BIN" lint --format tsv --checks mz-above-mw,bad-cas syn.msp
[ "$(grep -v '^#' only.out | tail -n +2 | cut -f6 | sort | tr '\n' ' ')" = "bad-cas mz-above-mw " ] ||
    { fail "--checks"; show only.out; }
expect_exit 0 skip "$BIN" lint --format tsv --skip duplicate-accession,bad-record syn.msp
[ "$(grep -v '^#' skip.out | tail -n +2 | wc -l)" = 19 ] || { fail "--skip: 19 rows expected"; show skip.out; }
grep -qP "\t(duplicate-accession|bad-record)\t" skip.out && fail "--skip left a skipped check"
expect_exit 1 badcheck "$BIN" lint --checks no-such-check syn.msp
expect_msg badcheck "unknown check 'no-such-check'"

# ---- --exit-code / --fail-on -----------------------------------------------------------------
expect_exit 3 ec "$BIN" lint --exit-code -o /dev/null syn.msp
expect_exit 0 ec_notes "$BIN" lint --exit-code --checks unsorted-mz -o /dev/null syn.msp
expect_exit 3 ec_note "$BIN" lint --exit-code --fail-on note --checks unsorted-mz -o /dev/null syn.msp
expect_exit 0 ec_warn "$BIN" lint --exit-code --fail-on warning --checks unsorted-mz -o /dev/null syn.msp

# ---- real records (bundled DEA subset, records 1-6, unchanged) --------------------------------
# Checked by hand: no record has an InChIKey or SMILES in this file? Record 1 (Epiandrosterone,
# C19H30O2, MW 290) has none; its peak list ends "291 57" "292 8" "293 3": m/z 293 is M+3, 3/999
# of the base peak (0.3%), above MW + 2: an mz-above-mw note. The others have InChIKeys and no
# peak above MW + 2.
awk 'BEGIN {RS = ""; ORS = "\n\n"} NR <= 6 {print}' "$LIBMSP" >real.msp
grep -q "^293 3$" <(awk 'BEGIN {RS = ""} NR == 1' real.msp) || fail "record 1 is not as this test assumes"
expect_exit 0 real "$BIN" lint --format tsv --exit-code real.msp
grep -v '^#' real.out | tail -n +2 | cut -f2,3,6,7 >real.got
printf '1\t1\tmissing-structure\twarning\n1\t1\tmz-above-mw\tnote\n' >real.want
diff real.want real.got >real.diff || { fail "real records' findings"; show real.diff; }
grep -qF "largest above 0.3% of the base peak: low" real.out || fail "real M+3 note"

# ---- a library file ---------------------------------------------------------------------------
"$BIN" build -o real.h5 real.msp >build.out 2>&1 || { fail "build"; show build.out; }
expect_exit 0 lib "$BIN" lint --format json real.h5
python3 - lib.out <<'PY' || fail "library findings"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["files"][0]["format"] == "library" and d["files"][0]["records"] == 6, d["files"]
got = sorted((f["record"], f["line"], f["accession"], f["check"], f["severity"]) for f in d["findings"])
assert got == [(1, None, "SWGDRUG-3.4-314", "missing-structure", "warning"),
               (1, None, "SWGDRUG-3.4-314", "mz-above-mw", "note")], got
PY
expect_exit 0 libtext "$BIN" lint real.h5
grep -qF "real.h5 entry 1  \"Epiandrosterone\"  accession SWGDRUG-3.4-314" libtext.out || { fail "library text"; show libtext.out; }
# the same records as a file and as a library: the duplicate checks see them across both inputs
expect_exit 0 both "$BIN" lint --format tsv --checks duplicate-accession,duplicate-spectrum real.msp real.h5
[ "$(grep -v '^#' both.out | grep -cP '\tduplicate-accession\terror\t')" = 12 ] || { fail "accessions across inputs"; show both.out; }
[ "$(grep -v '^#' both.out | grep -cP '\tduplicate-spectrum\tnote\t')" = 6 ] || { fail "spectra across inputs"; show both.out; }

# ---- bad input ----------------------------------------------------------------------------------
expect_exit 1 missing "$BIN" lint no-such-file.msp
expect_msg missing "no-such-file.msp"
mkdir -p adir
expect_exit 1 dir "$BIN" lint adir
expect_msg dir "adir"
head -c 4096 /dev/urandom | tr -d '\n' >junk.bin
expect_exit 1 junk "$BIN" lint junk.bin
expect_msg junk "junk.bin"
expect_exit 1 noargs "$BIN" lint
expect_exit 1 strict "$BIN" lint --strict syn.msp
expect_msg strict "stopped at the first bad record"

# ---- atomic -o ------------------------------------------------------------------------------------
echo old >out.txt
expect_exit 1 badout "$BIN" lint -o no-dir/out.txt syn.msp
expect_exit 0 goodout "$BIN" lint -o out.txt syn.msp
grep -q "^Summary: 22 findings in 22 of 24 records (8 errors, 10 warnings, 4 notes)$" out.txt || { fail "-o text"; show out.txt; }
ls out.txt.tmp.* >/dev/null 2>&1 && fail "temporary file left"

[ "$fails" = 0 ] && echo "test_cli_lint: all passed"
[ "$fails" = 0 ]
