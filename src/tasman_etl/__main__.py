"""`python -m tasman_etl` runs the CLI."""

from tasman_etl.cli import main

if __name__ == "__main__":
    main()
