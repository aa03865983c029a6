from typer.testing import CliRunner

from distillguard.cli import app
from tests.conftest import exchange, write_lines

runner = CliRunner()


def test_ingest_prints_counts_and_quarantine_lists_bad_lines(tmp_path):
    logs = write_lines(tmp_path / "x.jsonl", [exchange(1), "{oops", exchange(2)])
    ws = str(tmp_path / "ws.duckdb")
    result = runner.invoke(app, ["ingest", str(logs), "--workspace", ws])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())      # Rich wraps at the terminal width
    assert "3 records" in text and "2 new" in text and "1 quarantined" in text
    listing = runner.invoke(app, ["quarantine", "--workspace", ws])
    assert listing.exit_code == 0 and "invalid_json" in listing.output and "x.jsonl" in listing.output
    summary = runner.invoke(app, ["summary", "--workspace", ws])
    assert summary.exit_code == 0 and "exchanges" in summary.output


def test_missing_input_is_a_clear_error_not_a_traceback(tmp_path):
    result = runner.invoke(app, ["ingest", str(tmp_path / "none.jsonl"), "--workspace", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 2
    assert "no input files" in result.output and "Traceback" not in result.output


def test_unknown_adapter_is_a_clear_error(tmp_path):
    logs = write_lines(tmp_path / "x.jsonl", [exchange(1)])
    result = runner.invoke(app, ["ingest", str(logs), "--format", "nope", "--workspace", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 2 and "nope" in result.output
