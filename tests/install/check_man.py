#!/usr/bin/env python3
"""Man pages against the dispatcher, --help and docs/cli.md (ctest install.man_pages).

    check_man.py SOURCE_DIR NPSWATCH MAN1_DIR

1. Every command of the dispatcher's table in tools/cli/main.c (read from the source, not from
   the program) has MAN1_DIR/npswatch-CMD.1, and npswatch.1 exists; the table and
   `npswatch --help` list the same commands.
2. Every option that `npswatch CMD --help` lists appears in the command's man page (rendered
   with man/groff when present) and in the command's section of docs/cli.md (or, for the
   spectrum-reading options, in its "Reading spectra" section).
3. groff reports no warnings for any page (when groff is installed).
Exit 0 when all hold, 1 with every problem listed otherwise.
"""
import os
import re
import shutil
import subprocess
import sys

READING_OPTS = {"--input-format", "--encoding", "--decimal-comma", "--strict"}
GENERIC_OPTS = {"-h", "--help"}


def dispatcher_commands(main_c):
    text = open(main_c, encoding="utf-8").read()
    m = re.search(r"static const cli_command commands\[\] = \{(.*?)\n\};", text, re.S)
    if not m:
        sys.exit(f"check_man: no command table 'commands[]' in {main_c}")
    return re.findall(r'\{\s*"([a-z][a-z0-9-]*)"\s*,', m.group(1))


def help_options(npswatch, cmd):
    out = subprocess.run([npswatch, cmd, "--help"], capture_output=True, text=True,
                         timeout=60).stdout
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
    """{command: text of its '## `npswatch CMD ...`' sections} and the reading section."""
    text = open(path, encoding="utf-8").read()
    sections, reading = {}, ""
    for block in re.split(r"\n(?=## )", text):
        head = block.splitlines()[0]
        if head.startswith("## Reading spectra"):
            reading = block
        for cmd in set(re.findall(r"`npswatch ([a-z][a-z0-9-]*)", head)):
            sections[cmd] = sections.get(cmd, "") + block
    return sections, reading


def main():
    src, npswatch, man1 = sys.argv[1:4]
    problems = []
    cmds = dispatcher_commands(os.path.join(src, "tools", "cli", "main.c"))
    if len(cmds) < 2:
        sys.exit(f"check_man: found only {cmds} in the dispatcher table: the parser is broken")
    top = subprocess.run([npswatch, "--help"], capture_output=True, text=True, timeout=60).stdout
    listed = re.findall(r"^  (\S+)\s", top.split("Commands:", 1)[-1], re.M)
    if listed != cmds:
        problems.append(f"npswatch --help lists {listed}, the dispatcher table has {cmds}")
    sections, reading = cli_md_sections(os.path.join(src, "docs", "cli.md"))
    pages = ["npswatch"] + [f"npswatch-{c}" for c in cmds]
    for p in pages:
        if not os.path.isfile(os.path.join(man1, p + ".1")):
            problems.append(f"no man page {p}.1 in {man1}")
    checked = 0
    for cmd in cmds:
        page = os.path.join(man1, f"npswatch-{cmd}.1")
        if not os.path.isfile(page):
            continue
        text = rendered(page)
        opts = help_options(npswatch, cmd)
        if not opts:
            problems.append(f"npswatch {cmd} --help lists no options")
        doc = sections.get(cmd)
        if doc is None:
            problems.append(f"docs/cli.md has no section '## `npswatch {cmd} ...`'")
            doc = ""
        for opt in sorted(opts):
            checked += 1
            if not re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text):
                problems.append(f"man page npswatch-{cmd}.1 does not mention {opt}")
            if opt in GENERIC_OPTS:
                continue
            where = doc + (reading if opt in READING_OPTS else "")
            if not re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", where):
                problems.append(f"docs/cli.md, section of npswatch {cmd}, does not mention {opt}")
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
    print(f"check_man: {len(cmds)} commands, {len(pages)} pages, {checked} options checked, "
          f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
