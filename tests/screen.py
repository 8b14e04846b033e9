"""What a terminal would show for captured output: a tiny screen model for tests.

Handles what rich and structlog send: printable text, CR, LF, backspace, cursor up (``ESC[nA``),
cursor to column (``ESC[nG``), erase line (``ESC[2K``, ``ESC[K``), and ignores every other
escape (colours, cursor show/hide, OSC titles). Lines are as wide as they need to be: a line the
terminal would wrap stays one line here, so "is each log line whole" is a question about one
string.
"""

from __future__ import annotations

import re

_ESC = re.compile(r"\x1b(?:\[([0-9;?]*)([A-Za-z])|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][A-Za-z0-9]|.)")
_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][A-Za-z0-9]|.)")


def strip_ansi(text: str) -> str:
    """The text without escape sequences (CRs kept)."""
    return _ANSI.sub("", text)


def render(raw: str) -> list[str]:
    """The lines a terminal would show after ``raw`` was written to it (trailing blanks cut)."""
    lines: list[list[str]] = [[]]
    row = col = 0
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\x1b":
            match = _ESC.match(raw, i)
            if match is None:
                i += 1
                continue
            params, final = match.group(1), match.group(2)
            i = match.end()
            if final is None:
                continue
            number = int(params) if params and params.isdigit() else None
            if final == "A":
                row = max(0, row - (number or 1))
            elif final == "B":
                row += number or 1
            elif final == "G":
                col = max(0, (number or 1) - 1)
            elif final == "K":
                while len(lines) <= row:
                    lines.append([])
                if params in ("2",):
                    lines[row] = []
                elif params in ("", "0", None):
                    del lines[row][col:]
                elif params == "1":
                    lines[row][:col] = [" "] * min(col, len(lines[row]))
            continue
        i += 1
        if ch == "\r":
            col = 0
        elif ch == "\n":
            row += 1
            col = 0  # the pty's ONLCR sends CR LF; a bare LF is treated the same
        elif ch == "\b":
            col = max(0, col - 1)
        elif ch >= " " or ch == "\t":
            while len(lines) <= row:
                lines.append([])
            line = lines[row]
            if len(line) < col:
                line.extend(" " * (col - len(line)))
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
    out = ["".join(line).rstrip() for line in lines]
    while out and not out[-1]:
        out.pop()
    return out
