#!/bin/bash
# test_cli_ledger.sh - the lab-submissions ledger from the command line (docs/ledger.md,
# docs/cli.md): ledger init/info, lab add/list, submit, audit verify, bad input, tampering and
# a submit killed with SIGKILL at random moments.
#
# Data: the bundled library (spectra_db/data/swgdrug_3.4_dea.msp) and the six bundled example
# spectra (spectra_db/data/examples/example_queries.msp). What the ledger must hold is checked
# with python3's sqlite3, zlib and hashlib on the raw file, independently of npswatch: the
# stored file decompresses to the submitted bytes, the spectrum names are the MSP Name: lines,
# the token is stored only as its SHA-256, and the audit chain is recomputed from the canonical
# text of docs/ledger.md. The crash test's big input is 2,000 COPIES of the six example records
# (names suffixed "(copy N)"), searched against a small library built from the same examples so
# that one submit takes seconds.
#
# Usage: bash test_cli_ledger.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_ledger.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_ledger.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
SRC=${NPSW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LIBMSP=$SRC/spectra_db/data/swgdrug_3.4_dea.msp
QMSP=$SRC/spectra_db/data/examples/example_queries.msp
[ -f "$LIBMSP" ] && [ -f "$QMSP" ] || { echo "FAIL: bundled data missing ($LIBMSP, $QMSP)"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed"; exit 1; }
python3 -c 'import sqlite3' 2>/dev/null || { echo "FAIL: python3 has no sqlite3 module"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1
export SOURCE_DATE_EPOCH=1767225600 # run records comparable with 'npswatch analogues'

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
show() { echo "---- $1:" >&2; sed 's/^/    /' "$1" | head -30 >&2; }
# expect_exit CODE LABEL CMD...: run CMD (stdout to LABEL.out, stderr to LABEL.err)
expect_exit() {
    local want=$1 label=$2
    shift 2
    "$@" >"$label.out" 2>"$label.err"
    local rc=$?
    [ "$rc" = "$want" ] || { fail "$label: exit $rc, expected $want"; show "$label.err"; }
}
# expect_msg LABEL TEXT: stderr of LABEL contains TEXT
expect_msg() { grep -qF -- "$2" "$1.err" || { fail "$1: no message containing '$2'"; show "$1.err"; }; }
# sql DB QUERY: one value
sql() { python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$1" "$2"; }
counts() { # DB: rows of the tables a submission writes, one line
    python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(" ".join("%s=%d" % (t, c.execute("SELECT count(*) FROM " + t).fetchone()[0])
               for t in ("labs", "blobs", "submissions", "spectra", "results", "audit_log")))' "$1"
}

"$BIN" build -o dea.h5 "$LIBMSP" >build.out 2>build.err || { fail "cannot build the bundled library"; show build.err; exit 1; }

# ---- ledger init ---------------------------------------------------------------------------
expect_exit 0 init "$BIN" ledger init led.db
expect_msg init "created a ledger (schema version 1)"
[ "$(sql led.db 'PRAGMA journal_mode')" = wal ] || fail "the ledger is not in WAL mode"
[ "$(sql led.db 'PRAGMA user_version')" = 1 ] || fail "user_version is not 1"
expect_exit 0 init2 "$BIN" ledger init led.db
expect_msg init2 "already a ledger"
printf 'Name: not a ledger\nNum Peaks: 1\n41 999\n' >notes.msp
cp notes.msp notes.orig
expect_exit 1 init_foreign "$BIN" ledger init notes.msp
expect_msg init_foreign "not an npswatch ledger"
cmp -s notes.msp notes.orig || fail "ledger init changed a file that is not a ledger"
expect_exit 1 info_missing "$BIN" ledger info missing.db
expect_msg info_missing "no such ledger"
[ -e missing.db ] && fail "ledger info created missing.db"
expect_exit 1 init_usage "$BIN" ledger init
expect_exit 1 ledger_bad "$BIN" ledger frobnicate led.db
expect_msg ledger_bad "unknown subcommand"

# ---- labs ------------------------------------------------------------------------------------
expect_exit 0 labA "$BIN" lab add led.db --name "Lab A" --country de
expect_exit 0 labB "$BIN" lab add led.db --name "Lab B" --country FR
expect_exit 0 labC "$BIN" lab add led.db --name "EU curators" --country BE --role curator
idA=$(sed -n 's/^lab_id: //p' labA.out); tokA=$(sed -n 's/^token: //p' labA.out)
idB=$(sed -n 's/^lab_id: //p' labB.out); tokB=$(sed -n 's/^token: //p' labB.out)
[ "$idA" = 1 ] && [ "$idB" = 2 ] || fail "lab ids '$idA' '$idB', expected 1 and 2"
[ ${#tokA} -eq 48 ] && [ "${tokA#npsw_}" != "$tokA" ] || fail "token '$tokA' is not npsw_ + 43 characters"
[ "$tokA" != "$tokB" ] || fail "two labs got the same token"
expect_msg labA "shown only once"
expect_exit 1 lab_dup "$BIN" lab add led.db --name "lab a" --country DE
expect_msg lab_dup "already exists"
expect_exit 1 lab_cc "$BIN" lab add led.db --name "Lab X" --country UK
expect_msg lab_cc "ISO 3166-1"
expect_exit 1 lab_role "$BIN" lab add led.db --name "Lab X" --country GB --role boss
expect_exit 1 lab_noname "$BIN" lab add led.db --country GB
expect_exit 0 lab_list "$BIN" lab list led.db
[ "$(grep -c $'\t' lab_list.out)" = 4 ] || { fail "lab list: expected a header and 3 labs"; show lab_list.out; }
grep -q $'^3\tEU curators\tBE\tcurator\tyes\t' lab_list.out || { fail "lab list: curator row"; show lab_list.out; }
python3 - led.db "$tokA" <<'EOF' || fail "the token is not stored as (only) its SHA-256"
import hashlib, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
tok = sys.argv[2]
assert c.execute("SELECT token_sha256 FROM labs WHERE id = 1").fetchone()[0] == hashlib.sha256(tok.encode()).hexdigest()
for t in ("labs", "audit_log"):
    for row in c.execute("SELECT * FROM " + t):
        assert not any(isinstance(v, str) and tok[5:] in v for v in row), t
EOF

# ---- submit ------------------------------------------------------------------------------------
cp "$QMSP" batch1.msp
expect_exit 0 subA "$BIN" submit --ledger led.db --lab "Lab A" --token "$tokA" -l dea.h5 batch1.msp
expect_msg subA "batch1.msp: submission 1 stored"
"$BIN" analogues -l dea.h5 batch1.msp >ana.tsv 2>ana.err || { fail "analogues failed"; show ana.err; }
cmp -s subA.out ana.tsv || { fail "submit's results differ from 'npswatch analogues' on the same file"; diff subA.out ana.tsv | head >&2; }
[ "$(grep -vc '^#' subA.out)" = 7 ] || fail "submit: expected a header and 6 result rows"
# the same bytes from another lab, by id, without a token; JSON output
expect_exit 0 subB "$BIN" submit --ledger led.db --lab "$idB" -l dea.h5 --format json batch1.msp
expect_msg subB "submission 2 stored"
"$BIN" analogues -l dea.h5 --format json batch1.msp >ana.json 2>/dev/null
cmp -s subB.out ana.json || fail "submit --format json differs from 'npswatch analogues --format json'"
[ "$(counts led.db)" = "labs=3 blobs=1 submissions=2 spectra=12 results=12 audit_log=6" ] ||
    fail "after two submissions of the same file: $(counts led.db)"

python3 - led.db "$QMSP" subA.out <<'EOF' || fail "the ledger does not hold what was submitted"
import hashlib, json, sqlite3, sys, zlib
c = sqlite3.connect(sys.argv[1])
raw = open(sys.argv[2], "rb").read()
sha = hashlib.sha256(raw).hexdigest()
# content-addressed file: the bytes, once
size, comp, data = c.execute("SELECT size, compression, data FROM blobs WHERE sha256 = ?", (sha,)).fetchone()
assert comp == "zlib" and size == len(raw) and zlib.decompress(data) == raw
subs = c.execute("SELECT id, lab_id, file_name, sha256, size, format, n_spectra, report_json FROM submissions ORDER BY id").fetchall()
assert [(s[1], s[2], s[3], s[4], s[5], s[6]) for s in subs] == [(1, "batch1.msp", sha, len(raw), "msp", 6), (2, "batch1.msp", sha, len(raw), "msp", 6)], subs
rep = json.loads(subs[0][7])
assert rep["spectra_read"] == 6 and rep["records_skipped"] == 0 and rep["sha256"] == sha, rep
# spectra: the MSP Name: lines in order, peaks blob of 12 bytes a peak, one result each
names = [l[5:].strip() for l in raw.decode().splitlines() if l.startswith("Name:")]
got = [r[0] for r in c.execute("SELECT name FROM spectra WHERE submission_id = 1 ORDER BY position")]
assert got == names, got
assert c.execute("SELECT count(*) FROM spectra WHERE length(peaks) != 12 * n_peaks OR n_peaks = 0").fetchone()[0] == 0
assert c.execute("SELECT count(*) FROM spectra s WHERE (SELECT count(*) FROM results r WHERE r.spectrum_id = s.id) != 1").fetchone()[0] == 0
# results: the verdicts and best hits printed to Lab A are those stored
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[3]) if not l.startswith("#")]
col = {n: i for i, n in enumerate(rows[0])}
stored = c.execute("SELECT r.verdict, r.best_name, r.best_mf, r.predicted_class, r.run_json, r.analysis_json FROM results r "
                   "JOIN spectra s ON r.spectrum_id = s.id WHERE s.submission_id = 1 ORDER BY s.position").fetchall()
for row, st in zip(rows[1:], stored):
    assert (row[col["verdict"]], row[col["best_hit_name"]], int(row[col["best_mf"]]), row[col["predicted_class"]]) == st[:4], (row, st[:4])
    run, an = json.loads(st[4]), json.loads(st[5])
    assert run["library_sha256"] == c.execute("SELECT content_sha256 FROM library_versions").fetchone()[0]
    assert run["npswatch_version"] and run["parameters"].startswith("score=wmf")
    assert an["query_file"] == "batch1.msp" and an["verdict"] == st[0]
assert len(stored) == 6
EOF

# the audit chain recomputed from docs/ledger.md: hash = SHA-256(prev_hash || "npsw-audit-1"
# || for each of seq, utc, actor, action, object, details: "\n" + byte length + ":" + bytes)
cat >chain.py <<'EOF'
import hashlib, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
prev = "0" * 64
n = 0
for seq, utc, actor, action, obj, details, ph, h in c.execute(
        "SELECT seq, utc, actor, action, object, details, prev_hash, hash FROM audit_log ORDER BY seq"):
    n += 1
    if seq != n or ph != prev:
        print("chain broken at", n); sys.exit(1)
    text = prev.encode() + b"npsw-audit-1"
    for f in (str(seq), utc, actor, action, obj, details):
        b = f.encode()
        text += b"\n" + str(len(b)).encode() + b":" + b
    if hashlib.sha256(text).hexdigest() != h:
        print("hash of entry", seq, "differs"); sys.exit(1)
    prev = h
print(n, prev)
EOF
python3 chain.py led.db >chain.out || { fail "the audit chain does not recompute"; show chain.out; }
grep -q "^6 " chain.out || fail "expected 6 audit entries: $(cat chain.out)"
[ "$(sql led.db "SELECT group_concat(action || ' ' || actor || ' ' || object, ';') FROM audit_log")" = \
  "ledger.create cli:$(id -un) schema;lab.add cli:$(id -un) lab:1;lab.add cli:$(id -un) lab:2;lab.add cli:$(id -un) lab:3;submit lab:1 submission:1;submit lab:2 submission:2" ] ||
    fail "audit entries: $(sql led.db "SELECT group_concat(action || ' ' || actor || ' ' || object, ';') FROM audit_log")"
[ "$(sql led.db "SELECT json_extract(details, '\$.token_verified') FROM audit_log WHERE seq = 5")" = 1 ] ||
    fail "the first submission's audit entry does not record the verified token"

expect_exit 0 verify "$BIN" audit verify led.db
grep -q "^audit: ok: 6 entries, head seq 6 sha256 $(cut -d' ' -f2 chain.out); 2 submissions and 1 stored files match" verify.out ||
    { fail "audit verify summary"; show verify.out; }
expect_exit 0 info "$BIN" ledger info led.db
grep -q "^schema_version: 1 " info.out && grep -Eq "^  submissions +2$" info.out && grep -Eq "^  blobs +1$" info.out &&
    grep -q "^labs_without_token: 0$" info.out && grep -q "^audit_head: seq 6 sha256 $(cut -d' ' -f2 chain.out)$" info.out ||
    { fail "ledger info"; show info.out; }

# ---- bad input: exit 1, the cause named, nothing stored ----------------------------------------
python3 -c 'import random, sys; r = random.Random(7); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(4000)))' >garbage.bin
: >empty.msp
before=$(counts led.db)
expect_exit 1 bad_missing "$BIN" submit --ledger led.db --lab "Lab A" -l dea.h5 nosuchfile.msp
expect_msg bad_missing "nosuchfile.msp: rejected: cannot open"
expect_exit 1 bad_garbage "$BIN" submit --ledger led.db --lab "Lab A" -l dea.h5 garbage.bin
expect_msg bad_garbage "garbage.bin: rejected"
expect_exit 1 bad_empty "$BIN" submit --ledger led.db --lab "Lab A" -l dea.h5 empty.msp
expect_msg bad_empty "empty.msp"
expect_exit 1 bad_dir "$BIN" submit --ledger led.db --lab "Lab A" -l dea.h5 .
expect_msg bad_dir "not a regular file"
expect_exit 1 bad_lab "$BIN" submit --ledger led.db --lab "No Such Lab" -l dea.h5 batch1.msp
expect_msg bad_lab "unknown laboratory 'No Such Lab'"
expect_exit 1 bad_labid "$BIN" submit --ledger led.db --lab 99 -l dea.h5 batch1.msp
expect_msg bad_labid "no laboratory with id '99'"
expect_exit 1 bad_token "$BIN" submit --ledger led.db --lab "Lab A" --token npsw_not-the-token -l dea.h5 batch1.msp
expect_msg bad_token "wrong token for laboratory 1 'Lab A'"
expect_exit 1 bad_token2 "$BIN" submit --ledger led.db --lab "Lab A" --token "$tokB" -l dea.h5 batch1.msp
expect_msg bad_token2 "wrong token"
expect_exit 1 bad_lib "$BIN" submit --ledger led.db --lab "Lab A" -l nosuch.h5 batch1.msp
expect_exit 1 bad_ledger "$BIN" submit --ledger notes.msp --lab "Lab A" -l dea.h5 batch1.msp
expect_msg bad_ledger "not an npswatch ledger"
expect_exit 1 bad_noledger "$BIN" submit --ledger nosuch.db --lab "Lab A" -l dea.h5 batch1.msp
[ -e nosuch.db ] && fail "submit created a ledger"
expect_exit 1 bad_usage "$BIN" submit --ledger led.db --lab "Lab A" batch1.msp
expect_msg bad_usage "required"
for l in bad_missing bad_garbage bad_empty bad_lab bad_token bad_ledger; do
    [ -s "$l.out" ] && fail "$l: printed results although nothing was stored"
done
[ "$(counts led.db)" = "$before" ] || fail "bad input stored something: $before -> $(counts led.db)"
# one bad file among good ones: the others are stored, exit 1
expect_exit 1 mixed "$BIN" submit --ledger led.db --lab "Lab B" -l dea.h5 garbage.bin batch1.msp nosuchfile.msp
expect_msg mixed "batch1.msp: submission 3 stored"
expect_msg mixed "garbage.bin: rejected"
[ "$(grep -vc '^#' mixed.out)" = 7 ] || fail "mixed: the stored file's 6 results should still be printed"
[ "$(sql led.db 'SELECT count(*) FROM submissions')" = 3 ] || fail "mixed: expected 3 submissions"
expect_exit 0 verify2 "$BIN" audit verify led.db

# ---- tampering ----------------------------------------------------------------------------------
head=$(sed -n 's/^audit_head: seq [0-9]* sha256 //p' info.out)
expect_exit 0 verify_head "$BIN" audit verify led.db --head "$head"
expect_exit 1 verify_badhead "$BIN" audit verify led.db --head "$(printf '%064d' 0)"
expect_msg verify_badhead "recorded head"
cp led.db t1.db
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DROP TRIGGER audit_log_no_update")
c.execute("UPDATE audit_log SET details = replace(details, ?, ?) WHERE seq = 3", ("\"FR\"", "\"NL\""))
c.commit()' t1.db
expect_exit 1 tamper1 "$BIN" audit verify t1.db
expect_msg tamper1 "FAILED at entry 3"
cp led.db t2.db
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("DROP TRIGGER audit_log_no_delete")
c.execute("DELETE FROM audit_log WHERE seq = 4")
c.commit()' t2.db
expect_exit 1 tamper2 "$BIN" audit verify t2.db
expect_msg tamper2 "FAILED at entry 4: audit entry 4 is missing"
cp led.db t3.db
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE spectra SET name = ? WHERE id = 1", ("Something else",))
c.commit()' t3.db
expect_exit 1 tamper3 "$BIN" audit verify t3.db
expect_msg tamper3 "FAILED at entry 5: submission 1"
expect_exit 0 verify3 "$BIN" audit verify led.db

# ---- crash test: SIGKILL a submit at random moments -------------------------------------------
# 2,000 COPIES of the six example records, names suffixed "(copy N)"
python3 - "$QMSP" copies.msp <<'EOF' || fail "cannot write copies.msp"
import sys
text = open(sys.argv[1], encoding="utf-8").read()
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for i in range(1, 2001):
        f.write("".join(l + " (copy %d)\n" % i if l.startswith("Name:") else l + "\n"
                        for l in text.splitlines()))
EOF
[ "$(grep -c '^Name:' copies.msp)" = 12000 ] || fail "copies.msp should hold 12000 records"
"$BIN" build -o small.h5 "$QMSP" >bsmall.out 2>&1 || { fail "cannot build small.h5"; show bsmall.out; }
cp "$QMSP" after1.msp
sed 's/^Name: \(.*\)$/Name: \1 (second copy)/' "$QMSP" >after2.msp
"$BIN" ledger init crash.db >/dev/null 2>&1 && "$BIN" lab add crash.db --name "Crash Lab" --country SE >/dev/null 2>&1 ||
    fail "cannot set up crash.db"
seed=${NPSW_TEST_SEED:-$(date +%s)}
RANDOM=$seed
echo "crash test: seed $seed (NPSW_TEST_SEED to repeat)"
check_crash() { # IT: the ledger after a kill
    python3 - crash.db "crash$1.err" <<'EOF'
import re, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
ok = c.execute("PRAGMA integrity_check").fetchone()[0]
if ok != "ok":
    print("integrity_check:", ok); sys.exit(1)
bad = c.execute("""SELECT s.id, s.n_spectra, (SELECT count(*) FROM spectra p WHERE p.submission_id = s.id)
                   FROM submissions s WHERE s.n_spectra != (SELECT count(*) FROM spectra p WHERE p.submission_id = s.id)""").fetchall()
if bad:
    print("submissions without all their spectra:", bad); sys.exit(1)
nores = c.execute("SELECT count(*) FROM spectra p WHERE NOT EXISTS (SELECT 1 FROM results r WHERE r.spectrum_id = p.id)").fetchone()[0]
if nores:
    print(nores, "spectra without a result"); sys.exit(1)
orphans = c.execute("SELECT count(*) FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM submissions s WHERE s.sha256 = b.sha256)").fetchone()[0]
if orphans:
    print(orphans, "stored files without a submission"); sys.exit(1)
audited = c.execute("SELECT count(*) FROM audit_log WHERE action = 'submit'").fetchone()[0]
subs = c.execute("SELECT count(*) FROM submissions").fetchone()[0]
if audited != subs:
    print(subs, "submissions but", audited, "submit audit entries"); sys.exit(1)
# every acknowledged submission is there, whole
for sid, n in re.findall(r"submission (\d+) stored \(lab \d+, (\d+) spectra", open(sys.argv[2]).read()):
    row = c.execute("SELECT n_spectra FROM submissions WHERE id = ?", (int(sid),)).fetchone()
    if not row or row[0] != int(n):
        print("acknowledged submission", sid, "is missing or incomplete:", row); sys.exit(1)
print(subs)
EOF
}
killed_write=0
for it in 1 2 3 4 5 6; do
    "$BIN" submit --ledger crash.db --lab "Crash Lab" -l small.h5 -k 1 --threads 2 --progress \
        copies.msp after1.msp after2.msp >"crash$it.out" 2>"crash$it.err" &
    pid=$!
    if [ $((it % 2)) = 1 ]; then
        # anywhere: 0-3 s after the start
        sleep "$((RANDOM % 3)).$((RANDOM % 10))"
    else
        # while storing: once the analysis of copies.msp has finished (its progress bar at
        # 12000/12000), 0-0.59 s into the write transaction (bounded wait)
        for _ in $(seq 1 1200); do
            grep -q "12000/12000" "crash$it.err" 2>/dev/null && break
            kill -0 $pid 2>/dev/null || break
            sleep 0.05
        done
        sleep "0.$((RANDOM % 6))$((RANDOM % 10))"
        grep -q "submission [0-9]* stored" "crash$it.err" || killed_write=$((killed_write + 1))
    fi
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    n=$(check_crash $it) || { fail "crash $it: the ledger is inconsistent after SIGKILL: $n"; show "crash$it.err"; }
    "$BIN" audit verify crash.db >"crashv$it.out" 2>"crashv$it.err" ||
        { fail "crash $it: audit verify fails after SIGKILL"; show "crashv$it.err"; }
    echo "crash $it: $n submissions in the ledger after the kill"
done
echo "crash test: $killed_write kill(s) after the analysis and before the acknowledgement"
# and the ledger still takes a whole submission afterwards
expect_exit 0 after "$BIN" submit --ledger crash.db --lab "Crash Lab" -l small.h5 -k 1 after1.msp
expect_msg after "stored"
expect_exit 0 after_verify "$BIN" audit verify crash.db
[ "$(sql crash.db 'PRAGMA integrity_check')" = ok ] || fail "integrity_check after the crash test"

if [ $fails -ne 0 ]; then
    echo "FAILED: $fails check(s) in test_cli_ledger.sh" >&2
    exit 1
fi
echo "test_cli_ledger.sh: all checks passed"
exit 0
