"""Running the command line in-process from tests: its exit status, and the one-line error rule."""
import pytest

from minigen import cli


def run_cli(argv):
    """main(argv) in-process: its exit status."""
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    return info.value.code


def one_line_error(capsys, argv):
    """Run a command that must fail: exit status 2 and exactly one line on stderr, no traceback."""
    status = run_cli(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err
