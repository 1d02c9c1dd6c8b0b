"""``python -m executor_local`` runs the CLI, exactly as the ``executor`` command does."""

from executor_local.cli import main

if __name__ == "__main__":
    main()
