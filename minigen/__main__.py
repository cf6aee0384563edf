"""`python -m minigen ...` is the `minigen` command."""
from minigen.cli import main

if __name__ == "__main__":
    main()
