"""`python -m tasman_etl` runs the CLI."""

if __name__ == "__main__":
    # Imported here, not above: a worker process spawned by the CLI imports this module
    # again (as __mp_main__) and needs none of the CLI.
    from tasman_etl.cli import main

    main()
