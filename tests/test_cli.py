import subprocess
import sys

from dialogqa.commands.cli import main


def test_help_lists_commands(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    assert "dialogqa" in out


def test_no_command_exits_2(capsys):
    assert main([]) == 2


def test_module_entry_point():
    r = subprocess.run([sys.executable, "-m", "dialogqa", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("dialogqa ")
