#!/usr/bin/env python3
"""Generate the npswatch man pages from the built programs' --help texts.

    gen_man.py --npswatch BUILD/tools/npswatch [--npswatch-mpi BUILD/tools/npswatch-mpi]
               --version 0.1.0 --out BUILD/man/man1

Writes npswatch.1 (from `npswatch --help`: the command table of tools/cli/main.c) and
npswatch-CMD.1 for every command listed there (from `npswatch CMD --help`); with --npswatch-mpi
(built only when CMake finds MPI) likewise npswatch-mpi.1 (from `npswatch-mpi --help`: the
command table of tools/mpi/main.c) and npswatch-mpi-CMD.1. The --help texts are the maintained
source, so a man page always says what the program says; a command without a usable --help text
fails the generation (and the build). Layout of a program's --help text:

    <program> VERSION - title        NAME
    Usage: <program> ...             SYNOPSIS (every line up to the first blank line)
    Commands:                        COMMANDS: "  name   summary" lines, one per command
    <paragraphs>                     DESCRIPTION (npswatch: the text of PROGRAMS instead)

Layout of a command's --help text (docs/install.md, "Man pages"):

    Usage: npswatch CMD ...          SYNOPSIS (every line up to the first blank line)
    <paragraphs>                     DESCRIPTION
    Options:                         OPTIONS: "  -x, --long ARG   text" entries; deeper-indented
                                     lines continue the entry above
    <paragraphs after the options>   NOTES
"""
import argparse
import os
import re
import subprocess
import sys

EXIT_STATUS = [
    ("0", "success"),
    ("1", "bad input or usage (a message names the file and line, or the option)"),
    ("2", "internal or storage error"),
]
# Exit statuses only some commands have (their --help says so too).
EXIT_STATUS_EXTRA = {
    ("npswatch", "diff"): [("3", "with --exit-code: the two libraries' contents differ")],
}
# What differs between the programs; the pages are made by the same code from their --help.
PROGRAMS = {
    "npswatch": {
        # `npswatch --help` has only the command list: the description is kept here
        "description": [["npswatch searches mass spectra against a versioned HDF5 reference "
                         "library (exact top-K hit lists with MF, RMF, wmf, cosine and entropy "
                         "scores), detects unknown analogues, and runs the early-warning loop of "
                         "laboratories, signals, advisories and a hash-chained audit log in a "
                         "SQLite ledger. Data go to standard output, messages and progress to "
                         "standard error."]],
        "version": "print the version, the library file format version, the search kernel and "
                   "the linked libraries",
        "environment": [
            ("NPSW_FONT", "TrueType font for figure text (plot, advise); default DejaVu Sans "
                          "(Debian package fonts-dejavu-core)."),
            ("SOURCE_DATE_EPOCH", "when set, used instead of the clock for the times written "
                                  "into libraries, run records and advisories (reproducible "
                                  "output)."),
            ("OMP_NUM_THREADS", "default number of worker threads when --threads is not given."),
        ],
        "reference": "The full reference, with output columns and file formats, is docs/cli.md "
                     "in the npswatch sources.",
        "see_also": lambda cmd: [],
    },
    "npswatch-mpi": {
        "description": None,  # the paragraphs of `npswatch-mpi --help`
        "version": "print the version, the library file format version, the build type and the "
                   "linked MPI and HDF5 libraries",
        "environment": [
            ("NPSW_MPI_STATS", "when 1, rank 0 prints on standard error the time of each phase "
                               "(largest over the ranks): open_shard, read_queries, local_search "
                               "(including the hybrid index for analogues), gather_merge, "
                               "read_part, finish_rank0 (analogues), output; the list bytes "
                               "gathered, the spectra read for the output, and every rank's "
                               "shard size, peak memory (VmHWM) and CPU time."),
            ("NPSW_MPI_BATCH", "queries per batch, 1-4096 (default: as many as keep each "
                               "gather on rank 0 below about 256 MB; other values are ignored), "
                               "kept below 1 GB of lists on rank 0. The results do not depend on "
                               "it; tests use it to run many small batches."),
            ("SOURCE_DATE_EPOCH", "when set, used instead of the clock for the time of the run "
                                  "record (utc_time, taken on rank 0): the output is then byte for "
                                  "byte that of npswatch with the same options."),
            ("OMP_NUM_THREADS", "default number of worker threads of each rank when --threads "
                                "is not given."),
        ],
        "reference": "How the library is split between the ranks and the results merged, and the "
                     "limits, are described in docs/mpi.md in the npswatch sources; the options, "
                     "output columns and file formats in docs/cli.md.",
        # the single-process command that each page distributes, and the launcher
        "see_also": lambda cmd: ([f"npswatch-{cmd}"] if cmd else
                                 ["npswatch", "npswatch-search", "npswatch-analogues"])
                                + ["mpirun"],
    },
}


def esc(text):
    """Escape text for roff: backslashes, hyphens of options, a leading dot or quote."""
    text = text.replace("\\", "\\e")
    text = text.replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def help_env():
    """The environment to run a --help in. OpenMPI's MPI_Init (npswatch-mpi calls it before
    parsing) keeps memory until exit, which LeakSanitizer reports in a sanitizer build; leak
    checking is off for it, as in tests/mpi/test_mpi.sh."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env["ASAN_OPTIONS"] + ":" if env.get("ASAN_OPTIONS") else "") + \
        "detect_leaks=0"
    return env


def run_help(exe, args):
    p = subprocess.run([exe] + args, capture_output=True, text=True, timeout=60, env=help_env())
    if p.returncode != 0:
        sys.exit(f"gen_man: '{' '.join([exe] + args)}' exited {p.returncode}: {p.stderr}")
    return p.stdout


def paragraphs(lines):
    """Split lines into paragraphs at blank lines; each paragraph is a list of stripped lines."""
    out, cur = [], []
    for line in lines:
        if line.strip():
            cur.append(line.rstrip())
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def usage_block(lines, i, what):
    """The Usage: lines starting at lines[i] (one per synopsis line) and the index after them."""
    if i >= len(lines) or not lines[i].startswith("Usage: "):
        sys.exit(f"gen_man: '{what} --help' has no 'Usage: ' line where expected")
    usage, j = [lines[i][len("Usage: "):]], i + 1
    while j < len(lines) and lines[j].strip():
        usage.append(re.sub(r"^(Usage:)?\s+", "", lines[j]))
        j += 1
    return usage, j


def parse_help(text, what):
    """A command's --help text (`what`: "npswatch search") as its man page's parts."""
    lines = text.splitlines()
    usage, i = usage_block(lines, 0, what)
    rest = lines[i:]
    try:
        o = next(j for j, l in enumerate(rest) if l.strip() == "Options:")
    except StopIteration:
        sys.exit(f"gen_man: '{what} --help' has no 'Options:' section")
    desc = paragraphs(rest[:o])
    options, j = [], o + 1
    while j < len(rest) and rest[j].strip():
        line = rest[j]
        m = re.match(r"^  (-\S.*?)(?:\s{2,}(.*))?$", line)
        if m:
            options.append([m.group(1).strip(), (m.group(2) or "").strip()])
        elif options and line.startswith("   "):
            options[-1][1] = (options[-1][1] + " " + line.strip()).strip()
        else:
            sys.exit(f"gen_man: '{what} --help': cannot read option line {line!r}")
        j += 1
    notes = paragraphs(rest[j:])
    return usage, desc, options, notes


def header(name, section_title, version):
    return [
        f'.\\" Generated by tools/man/gen_man.py from `{section_title} --help`; do not edit.',
        f'.TH {esc(name.upper())} 1 "" "npswatch {version}" "npswatch manual"',
    ]


def tail(prog, see_also, cmd=None):
    spec = PROGRAMS[prog]
    out = [".SH EXIT STATUS"]
    for code, what in EXIT_STATUS + EXIT_STATUS_EXTRA.get((prog, cmd), []):
        out += [".TP", f".B {code}", esc(what)]
    out += [".SH ENVIRONMENT"]
    for var, what in spec["environment"]:
        out += [".TP", f".B {var}", esc(what)]
    out += [".SH NOTES",
            esc("Results are library search results, not identifications: the analyst decides."),
            ".PP",
            esc(spec["reference"]),
            ".SH SEE ALSO",
            ",\n".join(f".BR {p} (1)" for p in see_also)]
    return out


def command_page(prog, cmd, summary, text, version, all_cmds):
    usage, desc, options, notes = parse_help(text, f"{prog} {cmd}")
    name = f"{prog}-{cmd}"
    out = header(name, f"{prog} {cmd}", version)
    out += [".SH NAME", f"{esc(name)} \\- {esc(summary)}", ".SH SYNOPSIS", ".nf"]
    out += [esc(u) for u in usage]
    out += [".fi", ".SH DESCRIPTION"]
    for k, para in enumerate(desc):
        for n, line in enumerate(para):
            # a new paragraph, and a line that starts with a sub-command label ("init: ...")
            if (k and not n) or (n and re.match(r"^[a-z][a-z-]*: ", line)):
                out.append(".PP")
            out.append(esc(line.strip()))
    out.append(".SH OPTIONS")
    for opt, what in options:
        out += [".TP", f".B {esc(opt)}", esc(what)]
    if notes:
        out.append(".PP")
        for k, para in enumerate(notes):
            if k:
                out.append(".PP")
            out += [esc(l.strip()) for l in para]
    out += tail(prog, [prog] + [f"{prog}-{c}" for c in all_cmds if c != cmd]
                + PROGRAMS[prog]["see_also"](cmd), cmd)
    return name, "\n".join(out) + "\n"


def overview(text, prog):
    """A program's --help text: its title, Usage lines, commands and other paragraphs."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith(prog + " "):
        sys.exit(f"gen_man: '{prog} --help' does not start with '{prog} VERSION - title'")
    title = lines[0].split(" - ", 1)[1] if " - " in lines[0] else prog
    i = next((j for j, l in enumerate(lines) if l.startswith("Usage: ")), len(lines))
    usage, i = usage_block(lines, i, prog)
    try:
        start = lines.index("Commands:")
    except ValueError:
        sys.exit(f"gen_man: '{prog} --help' has no 'Commands:' list")
    cmds, end = [], start + 1
    while end < len(lines):
        m = re.match(r"^  (\S+)\s+(.*)$", lines[end])
        if not m:
            break
        cmds.append((m.group(1), m.group(2).strip()))
        end += 1
    if not cmds:
        sys.exit(f"gen_man: '{prog} --help' lists no commands")
    return title, usage, cmds, paragraphs(lines[i:start] + lines[end:])


def main_page(prog, text, version, extra_see_also):
    title, usage, cmds, desc = overview(text, prog)
    spec = PROGRAMS[prog]
    out = header(prog, prog, version)
    out += [".SH NAME", f"{esc(prog)} \\- {esc(title)}", ".SH SYNOPSIS", ".nf"]
    out += [esc(u) for u in usage]
    out += [".fi", ".SH DESCRIPTION"]
    for k, para in enumerate(spec["description"] or desc):
        if k:
            out.append(".PP")
        out += [esc(l.strip()) for l in para]
    out.append(".SH COMMANDS")
    for cmd, summary in cmds:
        out += [".TP", f".BR {esc(prog)}\\-{esc(cmd)} (1)", esc(summary)]
    out += [".SH OPTIONS", ".TP", ".B \\-\\-version, \\-V", esc(spec["version"]),
            ".TP", ".B \\-\\-help, \\-h", esc("list the commands")]
    out += tail(prog, [f"{prog}-{c}" for c, _ in cmds] + spec["see_also"](None) + extra_see_also)
    return cmds, "\n".join(out) + "\n"


def program_pages(prog, exe, version, extra_see_also):
    """{page name: roff text} of a program's overview page and one page per command."""
    cmds, page = main_page(prog, run_help(exe, ["--help"]), version, extra_see_also)
    pages = {prog: page}
    for cmd, summary in cmds:
        name, page = command_page(prog, cmd, summary, run_help(exe, [cmd, "--help"]), version,
                                  [c for c, _ in cmds])
        pages[name] = page
    return pages


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--npswatch", required=True, help="the built npswatch executable")
    ap.add_argument("--npswatch-mpi", help="the built npswatch-mpi executable, when there is one")
    ap.add_argument("--version", required=True, help="npswatch version for the page footers")
    ap.add_argument("--out", required=True, help="folder for the .1 files")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    # npswatch(1) points to npswatch-mpi(1) only when that page is made too
    pages = program_pages("npswatch", a.npswatch, a.version,
                          ["npswatch-mpi"] if a.npswatch_mpi else [])
    if a.npswatch_mpi:
        pages.update(program_pages("npswatch-mpi", a.npswatch_mpi, a.version, []))
    for name, page in pages.items():
        tmp = os.path.join(a.out, name + ".1.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(page)
        os.replace(tmp, os.path.join(a.out, name + ".1"))


if __name__ == "__main__":
    main()
