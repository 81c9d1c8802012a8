#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Helper of it_readme.sh: what README.md shows about the CLI is true.

    it_readme_check.py README.md SYNCQ_BIN commands
        Every `syncq ...` the README shows (in ```sh blocks and in inline
        code) names a command of `syncq --help`, and every option it passes
        appears in that command's --help. Prints one line per check.
    it_readme_check.py README.md - blocks OUTDIR
        Every ```sh block carries a marker comment on the line before it:
          <!-- check: run -->                   executed by it_readme.sh
          <!-- check: run by NAME[, NAME] -->   executed by those tests
          <!-- check: not runnable here: WHY -->
        Writes the "run" blocks to OUTDIR/block-N.sh and prints, per block,
        "run N", "by NAME..." or "skip N WHY". Exit 1 on a missing marker.
"""
import os
import re
import shlex
import subprocess
import sys

MARK = re.compile(r"<!--\s*check:\s*(run by [^>]*?|run|not runnable here:[^>]*?)\s*-->")


def sh_blocks(text):
    lines = text.split("\n")
    i, out = 0, []
    while i < len(lines):
        if lines[i].strip() == "```sh":
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            prev = next((lines[k] for k in range(i - 1, -1, -1)
                         if lines[k].strip()), "")
            out.append((i + 1, prev, "\n".join(lines[i + 1:j])))
            i = j
        i += 1
    return out


def commands_of(binary):
    top = subprocess.run([binary, "--help"], capture_output=True, text=True,
                         check=True).stdout
    cmds = re.findall(r"^  ([a-z][a-z -]*[a-z])  ", top, re.M)
    return [c.strip() for c in cmds], top


def shown_invocations(text):
    found = []
    for _, _, body in sh_blocks(text):
        for line in body.split("\n"):
            line = line.strip()
            if line.startswith("syncq "):
                found.append(line)
    for span in re.findall(r"`([^`]+)`", text):
        span = " ".join(span.split())
        span = re.sub(r"^(build/)?syncq\b", "syncq", span)
        if span.startswith("syncq "):
            found.append(span)
    return found


def check_commands(readme, binary):
    text = open(readme, encoding="utf-8").read()
    cmds, top = commands_of(binary)
    helps, fails, n = {}, 0, 0
    for inv in shown_invocations(text):
        try:
            words = shlex.split(inv, comments=True)[1:]
        except ValueError:
            words = inv.split()[1:]
        if not words or words[0].startswith("-"):
            continue
        name = None
        for k in (3, 2, 1):
            if " ".join(words[:k]) in cmds:
                name = " ".join(words[:k])
                break
        n += 1
        if name is None:
            print("FAIL README shows `%s`: no such command" % inv)
            fails += 1
            continue
        if name not in helps:
            p = subprocess.run([binary] + name.split() + ["--help"],
                               capture_output=True, text=True, check=False)
            helps[name] = p.stdout if p.returncode == 0 else None
            if p.returncode != 0:
                print("FAIL `syncq %s --help` exits %d" % (name, p.returncode))
                fails += 1
        h = helps[name]
        if h is None:
            continue
        for w in words[len(name.split()):]:
            if w == "--":
                break
            opt = w.split("=")[0]
            if re.fullmatch(r"--?[A-Za-z][A-Za-z0-9-]*", opt) and \
                    not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt),
                                  h + top):
                print("FAIL README shows `%s`: %s is not in `syncq %s --help`"
                      % (inv, opt, name))
                fails += 1
    print("readme: %d invocations of %d commands checked against --help, "
          "%d failed" % (n, len(helps), fails))
    return 1 if fails or n == 0 else 0


def check_blocks(readme, outdir):
    text = open(readme, encoding="utf-8").read()
    fails = 0
    for line, prev, body in sh_blocks(text):
        m = MARK.search(prev)
        if not m:
            print("FAIL README.md:%d: ```sh block without a check marker "
                  "(<!-- check: run | run by TEST | not runnable here: WHY -->)"
                  % line)
            fails += 1
            continue
        kind = m.group(1)
        if kind == "run":
            path = os.path.join(outdir, "block-%d.sh" % line)
            with open(path, "w", encoding="utf-8") as f:
                f.write(body + "\n")
            print("run %d %s" % (line, path))
        elif kind.startswith("run by"):
            print("by %d %s" % (line, kind[len("run by"):].strip()))
        else:
            print("skip %d %s" % (line, kind.split(":", 1)[1].strip()))
    return 1 if fails else 0


def main():
    readme, binary, what = sys.argv[1:4]
    if what == "commands":
        sys.exit(check_commands(readme, binary))
    sys.exit(check_blocks(readme, sys.argv[4]))


if __name__ == "__main__":
    main()
