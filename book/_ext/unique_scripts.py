"""Sphinx extension: each page's <script> elements written once.

Sphinx 7.4 (the version Jupyter Book 1 pins) lists an inline script that an extension adds after
the builder has started twice, once with the file name None and once with ''. sphinx-thebe adds
its settings that way (``const THEBE_JS_URL = ...``), and the second ``const`` declaration throws
"Identifier 'THEBE_JS_URL' has already been declared" on every page that offers live code.
"""


def _without_repeats(scripts: list) -> list:
    seen, unique = set(), []
    for script in scripts:
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    return unique


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    if "script_files" in context:
        context["script_files"] = _without_repeats(context["script_files"])


def setup(app):
    # After the other html-page-context handlers, which may add page-specific scripts.
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
