"""``record.pdf``: the record page printed by headless Chromium (its print stylesheet applies)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import RecordError


def chromium() -> str | None:
    found = os.environ.get("DELIBERATION_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def print_pdf(html: bytes, *, timeout: int = 120) -> bytes:
    """The same page as a PDF, printed by headless Chromium (its print stylesheet applies)."""
    browser = chromium()
    if browser is None:
        raise RecordError("--pdf needs Chromium (apt-get install chromium), which is not "
                          "installed", field="--pdf")
    with tempfile.TemporaryDirectory(prefix="deliberation-pdf-") as folder:
        page = Path(folder) / "page.html"
        page.write_bytes(html)
        target = Path(folder) / "page.pdf"
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--no-pdf-header-footer", f"--user-data-dir={Path(folder) / 'profile'}",
            f"--print-to-pdf={target}", page.as_uri(),
        ]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=timeout)  # noqa: S603
        except (OSError, subprocess.SubprocessError) as error:
            raise RecordError(f"Chromium could not print the record: {error}",
                              field="--pdf") from None
        if not target.is_file():
            raise RecordError("Chromium printed no PDF", field="--pdf")
        return target.read_bytes()
