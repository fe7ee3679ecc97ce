"""Bronze CSV parsing (SPEC §3, §10): plain functions, no runner."""

from __future__ import annotations

import pytest

from beam_pipelines.bronze_csv import WHITESPACE, parse_bronze_bytes, record_text, split_records
from beam_pipelines.schema import BRONZE_COLUMNS


def _rows(batch, *names):
    return [tuple(r[n] for n in names) for r in batch.columns.to_pylist()]


def test_bom_crlf_quotes_and_blank_lines():
    data = (
        b"\xef\xbb\xbfuser_id,signup_date,plan,city\r\n"
        b'u1,2026-01-01,basic,"Paris, ""Centre"""\r\n'
        b"\r\n"
        b"   \r\n"
        b'u2,2026-01-02,premium,"two\r\nlines"\r\n'
        b"u3,2026-01-03,basic,Lyon"  # no final line break
    )
    batch = parse_bronze_bytes(data, "users", "", "bronze/dims/users.csv")
    assert _rows(batch, "user_id", "city") == [("u1", 'Paris, "Centre"'), ("u2", "two\r\nlines"), ("u3", "Lyon")]
    assert batch.line_numbers.tolist() == [2, 5, 7]  # blank and whitespace-only lines are not records
    assert batch.malformed.tolist() == [False, False, False]
    assert record_text(batch.raw_lines[1]) == 'u2,2026-01-02,premium,"two\r\nlines"'


def test_columns_in_any_order_extra_ignored_missing_null():
    data = b"extra, plan ,user_id\nx,basic,u1\n"
    batch = parse_bronze_bytes(data, "users")
    assert batch.columns.column_names == list(BRONZE_COLUMNS["users"])
    row = batch.columns.to_pylist()[0]
    assert (row["user_id"], row["plan"], row["signup_date"], row["country"]) == ("u1", "basic", None, None)


def test_header_names_are_case_sensitive():
    batch = parse_bronze_bytes(b"User_ID,plan\nu1,basic\n", "users")
    assert batch.columns.to_pylist()[0]["user_id"] is None


def test_trim_and_null_but_na_is_a_value():
    data = b'user_id,plan,city,country\n  u1 ,"  ",N/A,\t\n'
    row = parse_bronze_bytes(data, "users").columns.to_pylist()[0]
    assert (row["user_id"], row["plan"], row["city"], row["country"]) == ("u1", None, "N/A", None)


def test_field_count_mismatch_is_malformed_and_keeps_raw_line():
    data = b"user_id,plan\nu1,basic\nu2\nu3,basic,extra\n"
    batch = parse_bronze_bytes(data, "users")
    assert batch.malformed.tolist() == [False, True, True]
    assert [record_text(r) for r in batch.raw_lines] == ["u1,basic", "u2", "u3,basic,extra"]
    assert batch.columns.to_pylist()[1]["user_id"] is None


def test_bare_carriage_return_is_one_malformed_record():
    data = b"user_id,plan\nu1,ba\rsic\nu2,basic\n"
    batch = parse_bronze_bytes(data, "users")
    assert batch.malformed.tolist() == [True, False]
    assert batch.line_numbers.tolist() == [2, 3]


def test_undecodable_bytes_make_only_their_record_malformed():
    data = b"user_id,plan\nu1,basic\nu\xff\xfe2,basic\nu3,basic\n"
    batch = parse_bronze_bytes(data, "users")
    assert batch.malformed.tolist() == [False, True, False]
    assert record_text(batch.raw_lines[1]).startswith("u\ufffd")


def test_unterminated_quote_swallows_rest_as_one_record():
    data = b'user_id,plan\nu1,"basic\nu2,basic\n'
    batch = parse_bronze_bytes(data, "users")
    assert batch.num_rows == 1 and batch.line_numbers.tolist() == [2]


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n", b"user_id,plan\n", b"user_id,plan"])
def test_empty_and_header_only_files_have_no_records(data):
    batch = parse_bronze_bytes(data, "users")
    assert batch.num_rows == 0
    assert batch.columns.column_names == list(BRONZE_COLUMNS["users"])


def test_binary_garbage_is_all_malformed_never_an_exception():
    data = bytes(range(256)) * 20
    batch = parse_bronze_bytes(data, "playback_events")
    assert batch.num_rows == len(batch.raw_lines)
    assert batch.malformed.all()


def test_split_records_reports_start_lines():
    records, starts, _ = split_records('h1,h2\n"a\nb",c\nd,e\n')
    assert records == [["h1", "h2"], ["a\nb", "c"], ["d", "e"]]
    assert starts == [1, 2, 4]


def test_whitespace_set_is_python_str_strip():
    assert WHITESPACE == "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


SAMPLES = [
    b"user_id,plan,city\nu1,basic,Paris\n\nu2,premium,\"Lyon, \"\"FR\"\"\"\n   \nu3\nu4,basic,x,y\n",
    b"\xef\xbb\xbfuser_id,plan\r\nu1,basic\r\n\r\nu2,basic\r\n",
    b"plan,user_id\nbasic,u1\nbasic,u2",  # no final line break
    b"user_id,plan\n\"u1\nx\",basic\n",  # quoted newline: csv-module path
    b"user_id,plan\nu1,ba\rsic\n",  # bare CR: csv-module path
    b"user_id,plan\nu\"1,basic\n",  # stray quote: csv-module path
    b"user_id,plan\n",
    b"",
]


@pytest.mark.parametrize("data", SAMPLES)
def test_arrow_fast_path_equals_csv_module(data):
    def records(batch):
        rows = batch.columns.to_pylist()
        return sorted(
            (int(batch.line_numbers[i]), bool(batch.malformed[i]), record_text(batch.raw_lines[i]), rows[i])
            for i in range(batch.num_rows)
        )

    fast = parse_bronze_bytes(data, "users", "", "f", 0, fast=True)
    slow = parse_bronze_bytes(data, "users", "", "f", 0, fast=False)
    assert records(fast) == records(slow)


def test_fast_path_is_used_for_plain_files():
    batch = parse_bronze_bytes(SAMPLES[0], "users")
    assert type(batch.raw_lines).__name__ == "LineSlices"
    assert batch.line_numbers.tolist() == [2, 4, 6, 7]  # malformed records come last
    assert batch.malformed.tolist() == [False, False, True, True]
