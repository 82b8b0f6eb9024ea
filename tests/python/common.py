"""Shared set-up of the Python tests (ctest python.api, python.numpy): the environment ctest
gives (tests/CMakeLists.txt), a library built by the CLI from the bundled SWGDRUG 3.4 DEA subset
(real spectra, spectra_db/data/README.md), and the CLI's JSON Lines output for comparison."""
import json
import os
import subprocess
import sys

SRC = os.environ["NPSW_SOURCE_DIR"]
BIN = os.environ["NPSW_BIN"]
DATA = os.path.join(SRC, "spectra_db", "data")
EXAMPLES = os.path.join(DATA, "examples")
# two real query files: the six bundled examples and five emerging NPS withheld from the library
QUERY_FILES = [os.path.join(EXAMPLES, "example_queries.msp"), os.path.join(EXAMPLES, "emerging.msp")]


def scratch_from_argv():
    """The scratch directory (argv[1]), created empty-ish; argv is left for unittest."""
    if len(sys.argv) < 2:
        sys.exit("usage: test_*.py SCRATCH_DIR (run by ctest)")
    d = sys.argv.pop(1)
    os.makedirs(d, exist_ok=True)
    return d


def build_library(scratch):
    path = os.path.join(scratch, "dea.h5")
    p = subprocess.run([BIN, "build", "-o", path, os.path.join(DATA, "swgdrug_3.4_dea.msp")],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("npswatch build failed: " + p.stderr)
    return path


def cli_json(*args):
    """Run `npswatch ARGS --format json`: (run record, [other records])."""
    p = subprocess.run([BIN] + list(args) + ["--format", "json"], capture_output=True, text=True,
                       timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"npswatch {' '.join(args)} failed: {p.stderr}")
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    assert lines and lines[0]["record"] == "run", "the CLI's JSON must start with the run record"
    return lines[0], lines[1:]


def parse_msp_peaks(path):
    """A deliberately small MSP reader, independent of npswatch's importer, for the simple
    one-peak-per-line records of the bundled example files: [(name, [(mz, intensity), ...])]."""
    out, name, peaks, n_left = [], None, [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if n_left:
                mz, inten = line.split()
                peaks.append((float(mz), float(inten)))
                n_left -= 1
                if not n_left:
                    out.append((name, peaks))
            elif line.startswith("Name:"):
                name, peaks = line[5:].strip(), []
            elif line.lower().startswith("num peaks:"):
                n_left = int(line.split(":", 1)[1])
    return out
