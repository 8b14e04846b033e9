"""What a command builds before it works: settings, connections, stores, clients, gates.

Each module wires one kind of command from the library's parts; the CLI parses options and
prints, and calls these. Nothing below `wiring` (runner, db, dq, storage, http) imports it.
"""
