"""The `tasman-etl` command line: thin commands over the wiring, the runner and the database.

Only this package turns errors into exit codes (`handle_errors`): 0 success; 1 the command
finished with failures (data kept in bronze/quarantine) or failed at run time; 2 bad
configuration or usage (nothing written). Command output (tables, JSON, the run summary)
goes to stdout; logs go to stderr.

The commands are registered here, in the order `tasman-etl --help` lists them.
"""

from __future__ import annotations

from tasman_etl.cli import backfill, database, ingest, query, tools
from tasman_etl.cli.root import app, db_app, handle_errors, main, runs_app

__all__ = ["app", "handle_errors", "main"]

app.command()(ingest.load)
app.command()(ingest.run)
app.command()(backfill.backfill)
app.command()(ingest.replay)
app.command()(tools.simulator)
app.command()(database.migrate)
app.command()(tools.doctor)
app.command()(query.jobs)
app.command()(query.site)
app.command()(tools.dq)

runs_app.callback()(query.runs)
runs_app.command("show")(query.runs_show)

db_app.command("start")(database.db_start)
db_app.command("stop")(database.db_stop)
db_app.command("status")(database.db_status)
db_app.command("url")(database.db_url)
db_app.command("psql")(database.db_psql)
