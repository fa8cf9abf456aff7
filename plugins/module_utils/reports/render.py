# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a report model in the asked formats: DIR/NAME.json, NAME.md, NAME.html, NAME.junit.xml.

Each file is written beside its final name and renamed into place: a reader (a CI job picking up
the artifact) never sees half a report."""

from __future__ import annotations

import json
import os
import tempfile

from ..errors import SwitchboardError
from . import html_page, junit, markdown

SUFFIXES = {"json": ".json", "md": ".md", "html": ".html", "junit": ".junit.xml"}


HEAD_KEYS = ("format_version", "report", "summary", "context")  # what a reader wants before 100k objects


def as_json(model):
    """The model with its summary first and one object per line: a diff of two reports shows the objects that
    changed, and json's C encoder does the work (indent= would fall back to its pure-Python one: 3x slower)."""
    def dumped(value):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    head = ",\n".join("%s:%s" % (dumped(key), dumped(model[key])) for key in HEAD_KEYS)
    objects = ",\n".join(dumped(obj) for obj in model["objects"])
    return '{%s,\n"objects":[\n%s\n]}\n' % (head, objects) if objects else '{%s,\n"objects":[]}\n' % head


RENDERERS = {"json": as_json, "md": markdown.render, "html": html_page.render, "junit": junit.render}


def rendered(model, fmt):
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise SwitchboardError("unknown report format %r: choose from %s" % (fmt, ", ".join(sorted(SUFFIXES))))
    return renderer(model)


def write(model, formats, output_dir, name):
    """Write ``model`` once per format; returns the paths written."""
    texts = [(fmt, rendered(model, fmt)) for fmt in formats]  # every format renders before any file is written
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as exc:
        raise SwitchboardError("cannot create the report directory %r: %s" % (output_dir, exc.strerror))
    return [_write_atomically(os.path.join(output_dir, name + SUFFIXES[fmt]), text) for fmt, text in texts]


def _write_atomically(path, text):
    directory = os.path.dirname(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".report-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        raise SwitchboardError("cannot write the report %r: %s" % (path, exc.strerror))
    return path
