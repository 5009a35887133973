"""Sphinx extension: kanlab's docstrings, written as plain text for ``help()``, read safely as reST.

The docstrings set formulas on indented lines of their own and write them inline as a reader types
them (``|Phi_l|_1``, ``a*f(b*x + c)``). Read as reST, an indented block is a block quote (where a
line starting with ``+`` opens a list) and ``|`` and ``*`` open substitutions and emphasis, so the
API page (book/api.md: autodoc, with napoleon for the Args/Returns/Raises sections) would mangle
them. After napoleon has run, this turns every indented block that follows a plain paragraph into a
literal block (shown as written, in monospace) and escapes ``|``, ``*`` and backslashes in the
prose outside double-backtick literals and roles (``:math:`...```). The page then reads as ``help()`` does.
"""

import re

_LITERAL = re.compile(r"(``.*?``|:[a-z]+:`[^`]*`)")  # double-backtick literals and roles such as :math:`...`


def _escaped(line: str) -> str:
    return "".join(
        part if _LITERAL.fullmatch(part) else part.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")
        for part in _LITERAL.split(line)
    )


def _indented(line: str) -> bool:
    return bool(line.strip()) and line[0] == " "


def _opens_literal_block(lines: list, index: int) -> bool:
    """Whether lines[index] starts an indented block after a blank line and a plain paragraph."""
    if not _indented(lines[index]) or index < 2 or lines[index - 1].strip():
        return False
    previous = lines[index - 2]
    return bool(previous.strip()) and not _indented(previous) and not previous.startswith((":", "..", ">>>"))


def _process(app, what, name, obj, options, lines):
    in_block = False
    for index, line in enumerate(lines):
        if in_block and line.strip() and not _indented(line):
            in_block = False
        if not in_block and _opens_literal_block(lines, index):
            paragraph_end = lines[index - 2].rstrip()
            if not paragraph_end.endswith("::"):
                lines[index - 2] = paragraph_end + ":" if paragraph_end.endswith(":") else paragraph_end + " ::"
            in_block = True
        if not in_block and not line.lstrip().startswith(">>>"):
            lines[index] = _escaped(line)


def setup(app):
    app.setup_extension("sphinx.ext.napoleon")
    app.connect("autodoc-process-docstring", _process, priority=600)  # after napoleon's (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
