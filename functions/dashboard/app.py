"""GET /dashboard and GET /dashboard/{asset} — the spend dashboard: a static page, its script, style and charts.

The page holds no data and the function reads none: it answers files shipped in its own code asset
(``assets/``), from a fixed list, so a path can never name anything else. The page then calls the
JSON routes with the bearer token the person pastes into it.
"""

from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.api.envelope import failure
from shared.api.resolver import build_resolver
from shared.core.observability import logger, metrics, tracer

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
PAGE = "index.html"
# What the page may load: its own files only (no CDN, no inline script), and the API on the same origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
MEDIA_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
# The vendored library's file name carries its version, so a browser may keep it; the page's own files
# change with each deploy and are checked again every time.
CACHE_FOREVER, CACHE_REVALIDATE = "public, max-age=31536000, immutable", "no-cache"
SERVED = {path.name: path for path in ASSETS_DIR.iterdir() if path.suffix in MEDIA_TYPES and path.name != PAGE}

app = build_resolver()


@app.get("/dashboard", include_in_schema=False)
def dashboard_page() -> Response[str]:
    """The page itself."""
    return _file(ASSETS_DIR / PAGE)


@app.get("/dashboard/<asset>", include_in_schema=False)
def dashboard_asset(asset: str) -> Response[str | dict]:
    """One of the page's files; anything else is a 404 in the API's envelope."""
    path = SERVED.get(asset)
    if path is None:
        return failure(404, "NOT_FOUND", f"The dashboard has no file {asset!r}.")
    return _file(path)


def _file(path: Path) -> Response[str]:
    cache = CACHE_FOREVER if path.name.startswith("chart.") else CACHE_REVALIDATE
    headers = {**SECURITY_HEADERS, "Cache-Control": cache}
    return Response(200, f"{MEDIA_TYPES[path.suffix]}; charset=utf-8", path.read_text(encoding="utf-8"), headers)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Lambda entry point."""
    return app.resolve(event, context)
