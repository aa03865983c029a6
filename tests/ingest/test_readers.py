import gzip

import pytest

from distillguard.ingest.readers import InputError, expand_paths, iter_line_batches
from tests.conftest import write_lines


def collect(path, **kw):
    lines, numbers, rejects = [], [], []
    for batch in iter_line_batches(path, **kw):
        lines += batch.lines.to_pylist()
        numbers += batch.line_numbers.tolist()
        rejects += batch.rejects
    return lines, numbers, rejects


def test_line_numbers_survive_blank_lines_crlf_and_chunk_boundaries(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a":1}\r\n\n   \n{"b":22}\n{"c":333}')      # no trailing newline
    lines, numbers, rejects = collect(path, chunk_bytes=5)
    assert [l.strip() for l in lines] == ['{"a":1}', '{"b":22}', '{"c":333}']
    assert numbers == [1, 4, 5]
    assert rejects == []


@pytest.mark.parametrize("compress", [None, "gz", "zst"])
def test_compressed_streams(tmp_path, compress):
    path = write_lines(tmp_path / f"x.jsonl{'.' + compress if compress else ''}",
                       [{"i": i} for i in range(1000)], compress)
    lines, numbers, rejects = collect(path, chunk_bytes=777)
    assert len(lines) == 1000 and numbers == list(range(1, 1001)) and not rejects


def test_oversized_record_is_rejected_without_buffering_it(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"ok":1}\n' + b'{"x":"' + b"a" * 5000 + b'"}\n{"ok":2}\n')
    lines, numbers, rejects = collect(path, max_record_bytes=1000, chunk_bytes=256)
    assert numbers == [1, 3]
    assert [r.line for r in rejects] == [2]
    assert rejects[0].reason.startswith("record_too_large")


def test_oversized_record_inside_one_chunk(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"ok":1}\n' + b'{"x":"' + b"a" * 500 + b'"}\n{"ok":2}\n')
    lines, numbers, rejects = collect(path, max_record_bytes=100)
    assert numbers == [1, 3] and [r.line for r in rejects] == [2]


def test_invalid_utf8_rejects_only_that_line(tmp_path):
    path = tmp_path / "u.jsonl"
    path.write_bytes('{"a":"é"}\n'.encode() + b'{"a":"\xff"}\n{"a":2}\n')
    lines, numbers, rejects = collect(path)
    assert numbers == [1, 3]
    assert rejects[0].line == 2 and rejects[0].reason.startswith("invalid_utf8")


def test_truncated_gzip_ends_with_a_reject(tmp_path):
    data = gzip.compress(b"".join(b'{"i":%d}\n' % i for i in range(20000)))
    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    lines, numbers, rejects = collect(path, chunk_bytes=4096)
    assert rejects and rejects[-1].reason.startswith("corrupt_stream")
    assert numbers == list(range(1, len(numbers) + 1))


def test_expand_paths_file_dir_glob(tmp_path):
    (tmp_path / "d").mkdir()
    for name in ("a.jsonl", "b.jsonl.gz", "c.parquet", "notes.txt"):
        (tmp_path / "d" / name).write_bytes(b"")
    assert [p.name for p in expand_paths(tmp_path / "d")] == ["a.jsonl", "b.jsonl.gz", "c.parquet"]
    assert [p.name for p in expand_paths(str(tmp_path / "d" / "*.jsonl*"))] == ["a.jsonl", "b.jsonl.gz"]
    with pytest.raises(InputError):
        expand_paths(tmp_path / "missing")
