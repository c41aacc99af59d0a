"""`python -m lab` and the `labreport` command: the CLI, imported only when called.

Worker processes are spawned (the runs side by side, the PDF engine), and a spawned process
first re-runs the module its parent started from. From here that costs nothing; from
lab.cli it imported typer, rich and the options again in every worker (0.15-0.19 s each).
"""


def main() -> None:
    from lab.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
