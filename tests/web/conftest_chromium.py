"""Where Debian's chromium is (the ``require_chromium`` fixture skips or fails without it)."""

import shutil


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")
