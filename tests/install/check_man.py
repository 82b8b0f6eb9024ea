#!/usr/bin/env python3
"""Man pages against the dispatcher, --help and docs/cli.md (ctest install.man_pages).

    check_man.py SOURCE_DIR NPSWATCH MAN1_DIR [NPSWATCH_MPI]

For npswatch, and for npswatch-mpi when its executable is given (it is built only when CMake
finds MPI):
1. Every command of the program's dispatch table (tools/cli/main.c, tools/mpi/main.c; read from
   the source, not from the program) has MAN1_DIR/PROGRAM-CMD.1, and PROGRAM.1 exists; the table
   and `PROGRAM --help` list the same commands.
2. Every option that `PROGRAM CMD --help` lists appears in the command's man page (rendered
   with man/groff when present) and in the command's section of docs/cli.md (or, for the
   spectrum-reading options, in its "Reading spectra" section). npswatch-mpi's commands take
   npswatch's options (the same parser, tools/cli/args.c), and docs/cli.md's npswatch-mpi
   section says so: their documented place is the section of the npswatch command of the same
   name; an option that only npswatch-mpi has must be in docs/cli.md's npswatch-mpi section or
   in docs/mpi.md. docs/cli.md must have an npswatch-mpi section naming each of its commands.
3. groff reports no warnings for any page (when groff is installed).
Exit 0 when all hold, 1 with every problem listed otherwise.
"""
import os
import re
import shutil
import subprocess
import sys

# the generator's environment for running --help (leak checking off for OpenMPI's MPI_Init in a
# sanitizer build), so that the check runs the programs as the pages were made
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                                "man"))
from gen_man import help_env  # noqa: E402

READING_OPTS = {"--input-format", "--encoding", "--decimal-comma", "--strict"}
GENERIC_OPTS = {"-h", "--help"}


def dispatcher_commands(main_c):
    text = open(main_c, encoding="utf-8").read()
    m = re.search(r"static const \w+ commands\[\] = \{(.*?)\n\};", text, re.S)
    if not m:
        sys.exit(f"check_man: no command table 'commands[]' in {main_c}")
    return re.findall(r'\{\s*"([a-z][a-z0-9-]*)"\s*,', m.group(1))


def help_options(exe, cmd):
    out = subprocess.run([exe, cmd, "--help"], capture_output=True, text=True,
                         timeout=60, env=help_env()).stdout
    opts = set()
    in_opts = False
    for line in out.splitlines():
        if line.strip() == "Options:":
            in_opts = True
            continue
        if in_opts and not line.strip():
            break
        if in_opts:
            m = re.match(r"^  (-\S.*?)(?:\s{2,}|$)", line)
            if m:
                opts.update(re.findall(r"--?[A-Za-z][A-Za-z0-9-]*", m.group(1)))
    return opts


def rendered(page):
    """The page as text (man -l, else groff -man -Tutf8, else the roff source unescaped)."""
    env = dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="0")
    for cmd in (["man", "-l", page], ["groff", "-man", "-Tutf8", page]):
        if shutil.which(cmd[0]):
            p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
            if p.returncode == 0 and p.stdout.strip():
                return re.sub(r".\x08", "", p.stdout).replace("\u2010", "-").replace("\u2212", "-")
    return open(page, encoding="utf-8").read().replace("\\-", "-")


def cli_md_sections(path):
    """{(program, command): text of its '## `PROGRAM CMD ...`' sections} and the reading section.
    A heading may name several commands: '## `npswatch-mpi search|analogues ...`'."""
    text = open(path, encoding="utf-8").read()
    sections, reading = {}, ""
    for block in re.split(r"\n(?=## )", text):
        head = block.splitlines()[0]
        if head.startswith("## Reading spectra"):
            reading = block
        keys = set()
        for prog, cmds in re.findall(r"`(npswatch(?:-mpi)?) ([a-z][a-z0-9|-]*)", head):
            keys.update((prog, c) for c in cmds.split("|") if c)
        for key in keys:
            sections[key] = sections.get(key, "") + block
    return sections, reading


def mentions(text, opt):
    return re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text) is not None


def check_program(prog, exe, main_c, min_cmds, man1, docs, problems):
    """Checks 1 and 2 for one program; returns its page names and the options checked."""
    sections, reading, mpi_md, npswatch = docs
    cmds = dispatcher_commands(main_c)
    if len(cmds) < min_cmds:
        sys.exit(f"check_man: found only {cmds} in the table of {main_c}: the parser is broken")
    top = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60,
                         env=help_env()).stdout
    listed = []
    if "Commands:" in top:
        listed = re.findall(r"^  (\S+)\s", top.split("Commands:", 1)[1], re.M)
    if listed != cmds:
        problems.append(f"{prog} --help lists {listed}, the dispatcher table has {cmds}")
    pages = [prog] + [f"{prog}-{c}" for c in cmds]
    for p in pages:
        if not os.path.isfile(os.path.join(man1, p + ".1")):
            problems.append(f"no man page {p}.1 in {man1}")
    checked = 0
    for cmd in cmds:
        doc = sections.get((prog, cmd))
        if doc is None:
            problems.append(f"docs/cli.md has no section '## `{prog} {cmd} ...`'")
            doc = ""
        page = os.path.join(man1, f"{prog}-{cmd}.1")
        if not os.path.isfile(page):
            continue
        text = rendered(page)
        opts = help_options(exe, cmd)
        if not opts:
            problems.append(f"{prog} {cmd} --help lists no options")
        # npswatch-mpi: npswatch's options are documented with the npswatch command
        shared = help_options(npswatch, cmd) if prog != "npswatch" else set()
        for opt in sorted(opts):
            checked += 1
            if not mentions(text, opt):
                problems.append(f"man page {prog}-{cmd}.1 does not mention {opt}")
            if opt in GENERIC_OPTS:
                continue
            if opt in shared:
                where, place = sections.get(("npswatch", cmd), ""), f"npswatch {cmd}"
            elif prog != "npswatch":
                where, place = doc + mpi_md, f"{prog} {cmd} or docs/mpi.md"
            else:
                where, place = doc, f"npswatch {cmd}"
            if opt in READING_OPTS:
                where += reading
            if not mentions(where, opt):
                whose = f" (an option of {prog} {cmd})" if prog != "npswatch" else ""
                problems.append(f"docs/cli.md, section of {place}, does not mention {opt}{whose}")
    return pages, checked


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.strip().splitlines()[2].strip())
    src, npswatch, man1 = sys.argv[1:4]
    mpi = sys.argv[4] if len(sys.argv) == 5 else None
    problems = []
    sections, reading = cli_md_sections(os.path.join(src, "docs", "cli.md"))
    mpi_md = open(os.path.join(src, "docs", "mpi.md"), encoding="utf-8").read()
    # what the options are checked against: docs/cli.md, docs/mpi.md, and npswatch's own options
    # (those npswatch-mpi's commands share are documented with the npswatch command)
    docs = (sections, reading, mpi_md, npswatch)
    pages, checked = check_program("npswatch", npswatch,
                                   os.path.join(src, "tools", "cli", "main.c"), 2, man1, docs,
                                   problems)
    programs = 1
    if mpi:
        mpi_pages, mpi_checked = check_program("npswatch-mpi", mpi,
                                               os.path.join(src, "tools", "mpi", "main.c"), 1,
                                               man1, docs, problems)
        pages += mpi_pages
        checked += mpi_checked
        programs += 1
    if shutil.which("groff"):
        for p in pages:
            f = os.path.join(man1, p + ".1")
            if os.path.isfile(f):
                r = subprocess.run(["groff", "-man", "-ww", "-z", f], capture_output=True,
                                   text=True, timeout=60)
                if r.returncode != 0 or r.stderr.strip():
                    problems.append(f"groff warns about {p}.1: {r.stderr.strip()}")
    else:
        print("check_man: groff not installed: roff warnings not checked")
    for p in problems:
        print("check_man: " + p)
    print(f"check_man: {programs} program(s), {len(pages) - programs} commands, "
          f"{len(pages)} pages, {checked} options checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
