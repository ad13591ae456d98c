"""Writing a run's files."""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Callable


def replace_file(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    """Writes a new file at `path` through a temporary file and a rename, never into the old file:
    a reader never sees half a file, and a run copied with hard links (`cp -al`) shares its files
    with the original, so writing into one would change both."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        write(f)
    os.replace(tmp, path)
