"""Data Docs that work without the network: the CDN assets ship with the site.

Great Expectations 1.24's page templates load Bootstrap, jQuery, bootstrap-table, Font Awesome
and friends from CDNs, and the index and validation tables are drawn by that JavaScript: with
no network a page is almost empty. `make_offline` copies the vendored files (``vendor/``, see
its README for versions and licences) into ``<site>/static/vendor/`` and rewrites every page to
load them by relative path, so the site opens from disk (``file://``) or any static host.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

__all__ = ["CDN_ASSETS", "VENDOR_DIR", "make_offline", "remote_assets"]

VENDOR_DIR = Path(__file__).with_name("vendor")
_SITE_VENDOR = "static/vendor"

CDN_ASSETS: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "bootstrap-4.3.1/bootstrap.min.css"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "bootstrap-4.3.1/bootstrap.min.js"
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "popper.js-1.12.9/popper.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table-1.19.1/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table-1.19.1/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": (
        "bootstrap-table-1.19.1/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": (
        "bootstrap-table-1.19.1/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": (
        "bootstrap-table-1.19.1/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "bootstrap-dark-1.1.0/bootstrap-prefers-dark.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome-free-6.6.0/css/all.min.css"
    ),
}
"""CDN URL in GX 1.24's templates -> file under ``vendor/`` (and ``<site>/static/vendor/``)."""

# The GX logo is served from S3 with a cache-busting query; the site has its own copy.
_LOGO = re.compile(
    r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/logo-long\.png[^\"']*"
)
# Vega draws charts; none of our pages has one (no `vegaEmbed(` call), so the tags go.
_VEGA = re.compile(r"<script src=\"https://cdn\.jsdelivr\.net/npm/vega[\w@.-]*\"></script>\s*")
# Subresource integrity and CORS mode make a browser refuse file:// scripts.
_SRI = re.compile(r"\s+(?:integrity=\"[^\"]*\"|crossorigin=\"[^\"]*\")")
_TAG = re.compile(r"<(?:script|link|img)\b[^>]*>", re.IGNORECASE)
_ASSET_URL = re.compile(r"(?:src|href)=[\"'](https?://[^\"']+)[\"']", re.IGNORECASE)


def _rewrite(html: str, prefix: str) -> str:
    def tag(match: re.Match[str]) -> str:
        text = match.group(0)
        changed = text
        for url, target in CDN_ASSETS.items():
            changed = changed.replace(f'"{url}"', f'"{prefix}{_SITE_VENDOR}/{target}"')
        changed = _LOGO.sub(f"{prefix}static/images/logo-long.png", changed)
        if changed != text:
            changed = _SRI.sub("", changed)
        return changed

    if "vegaEmbed(" not in html:
        html = _VEGA.sub("", html)
    return _TAG.sub(tag, html)


def remote_assets(html: str) -> list[str]:
    """URLs of scripts, stylesheets and images a page still loads from the network.

    Links (``<a href>``) are navigation, not assets, and are not listed.
    """
    found: list[str] = []
    for tag in _TAG.findall(html):
        if tag.lower().startswith("<link") and "stylesheet" not in tag.lower():
            continue
        found += _ASSET_URL.findall(tag)
    return found


def make_offline(site: Path) -> list[Path]:
    """Ship the vendored assets into ``site`` and point its pages at them; the pages rewritten.

    Safe to run again after GX rebuilds the site (a rewritten page is left as it is).
    """
    shutil.copytree(VENDOR_DIR, site / _SITE_VENDOR, dirs_exist_ok=True)
    changed: list[Path] = []
    for page in sorted(site.rglob("*.html")):
        if (site / _SITE_VENDOR) in page.parents:
            continue
        depth = len(page.relative_to(site).parts) - 1
        html = page.read_text(encoding="utf-8")
        rewritten = _rewrite(html, "../" * depth)
        if rewritten != html:
            page.write_text(rewritten, encoding="utf-8")
            changed.append(page)
    return changed
