# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `file` gateway (file:///ABSOLUTE/DIR): one JSON file per message, named after its id.

Written atomically (a hidden temp file, fsync, os.replace, fsync of the directory), owner only
(files 0600, a created directory 0700: the texts carry one-time links). A message whose file is
already there is not written again, so the same id never makes a second file or a second SMS.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile

from . import dlr
from .gateway import ACCEPTED, RETRY_LATER, Gateway, Outcome


class FileGateway(Gateway):

    def __init__(self, directory, rate=None):
        super().__init__(rate)
        self.directory = directory

    def describe(self):
        return "file://" + self.directory

    def path_of(self, message_id):
        return os.path.join(self.directory, message_id + ".json")

    def _deliver(self, message):
        path = self.path_of(message.id)
        if os.path.exists(path):
            return Outcome(ACCEPTED, "already written to %s" % path)
        try:
            self._ensure_directory()
            self._write_atomically(path, self._document(message))
        except OSError as exc:
            return Outcome(RETRY_LATER, "cannot write %s: %s" % (path, exc.strerror or exc))
        return Outcome(ACCEPTED, "written to %s" % path)

    @staticmethod
    def _document(message):
        document = {"id": message.id, "to": message.to, "stage": message.stage, "text": message.text,
                    "written_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        if message.dlr_url:
            document["dlr_url"] = dlr.callback_url(message.dlr_url, message.id)
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    def _ensure_directory(self):
        if not os.path.isdir(self.directory):
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            os.chmod(self.directory, 0o700)  # makedirs' mode is filtered by the umask

    def _write_atomically(self, path, text):
        fd, temp = tempfile.mkstemp(dir=self.directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:  # mkstemp creates it 0600
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            _remove_quietly(temp)
            raise
        _fsync_directory(self.directory)


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_directory(directory):
    """The rename itself survives a power cut only once the directory is on disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
