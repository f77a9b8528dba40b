"""parse: a vendor CSV file (plain or gzip) to a stream of string batches, one per block.

The first step of the ingest chain. Every vendor field travels on as text under
``raw:<header name>`` (nothing is typed here, so no bad value can abort the file: typing
and validation are per-row work for ``normalize``). Each data row gets ``file_seq``, its
1-based number in the Bronze file with the header excluded, fixed here once and
independent of the block size.

How a file is read:

- gzip is detected by its magic bytes ``1f 8b``, never by the file name;
- the header line is read here, not by the CSV reader: a UTF-8 byte order mark and a
  CRLF line end are stripped, and every expected column is looked up by name (extra
  columns are ignored; order does not matter; a missing one is a :class:`ParseError`);
- the rest (the stream positioned after the header line, so a long header never has to
  fit in a block) streams through ``pyarrow.csv.open_csv`` block by block with
  ``use_threads=False`` (then pyarrow numbers malformed rows exactly), every column as
  ``string``; an empty cell (quoted or not) becomes null and no other text does (``NA``,
  ``null`` and ``nan`` stay text);
- a row with the wrong number of fields is not dropped: it comes out in file order, with
  null fields, its text in ``_raw_line`` and the flag ``<name>.unparseable_value`` (no
  field), so that every data row appears exactly once and the accounting holds;
- a blank line is not a data row: it gets no ``file_seq`` and does not appear (this is
  what pyarrow does too: its row numbers skip blank lines);
- a zero-byte file, an empty gzip (Tardis's "no data") and a header-only file give no
  rows and no error.

A problem with the file itself (missing columns, a corrupt or truncated gzip, bytes that
are not UTF-8, a row longer than ``block_size``) raises :class:`ParseError` naming the
file and, when known, the row and field. It may be raised on the first read or midway.

>>> import tempfile, pathlib
>>> from pointline.chain import Chain
>>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = path.write_text(
...     "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\\n"
...     "bitmex,XBTUSD,1,2,a,buy,8531.5,10\\n"
...     "bitmex,XBTUSD,1,2\\n"
... )
>>> header = ["exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price",
...           "amount"]
>>> table = Chain([parse_csv(path, header)]).run().read_all()
>>> table["raw:price"].to_pylist(), table["file_seq"].to_pylist()
(['8531.5', None], [1, 2])
>>> table["_raw_line"].to_pylist(), table["_pl_flag"].to_pylist()
([None, 'bitmex,XBTUSD,1,2'], [None, 'parse.unparseable_value'])
"""

from __future__ import annotations

import contextlib
import csv as pycsv
import hashlib
import io
import re
from collections import deque
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from isal import igzip

from operators.columns import FILE_SEQ, RAW_LINE, raw
from pointline.chain import FLAG_FIELD, RowFlags, Source
from pointline.chain.prefetch import prefetched
from pointline.codes import FileReason
from pointline.errors import PointlineError
from pointline.vendors.protocol import FileFormat

__all__ = [
    "BATCH_ROWS",
    "BLOCK_SIZE",
    "MALFORMED_ROW",
    "MissingColumnsError",
    "ParseError",
    "parse_csv",
    "parse_format",
    "parse_schema",
]

MALFORMED_ROW: Final = "unparseable_value"
"""The rule a row with the wrong number of fields is quarantined under (no field: the
whole row cannot be read; its text is kept in ``_raw_line``)."""

BLOCK_SIZE: Final = 256 << 10
"""Bytes of CSV text the reader parses at a time. The reader reads ahead many blocks, so
this sets most of the parse memory (issue 16, 10M-row L2 file: parse alone peaks at 28,
33 and 43 MiB of Arrow pool with 128, 256 and 512 KiB blocks; the whole ingest at 82 and
94 MiB, peak RSS 248 and 270 MiB, with 256 and 512 KiB, at the same speed, since blocks
are joined into :data:`BATCH_ROWS` batches)."""

BATCH_ROWS: Final = 65_536
"""Rows per batch handed to the chain: blocks are joined until at least this many. Each
batch costs the chain a fixed amount of Python and kernel set-up, so small batches are
slow (issue 16, 10M-row L2 file, one block per batch: 6.5 s at 1 MiB blocks, 8.0 s at
512 KiB, 11.0 s at 256 KiB; 512 KiB blocks joined to 50k rows: 5.4 s)."""

PREFETCH: Final = 1
"""Batches read ahead on their own thread while the chain transforms the current one
(:func:`~pointline.chain.prefetch.prefetched`; issue 16, 10M-row L2: 5.48 -> 4.85 s at
1, 4.89 s at 2; RSS +30 MiB at 1)."""

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_HEADER_CHUNK = 1 << 16
_CHUNK = 1 << 20  # bytes per read when hashing what the reader left
_HEADER_LIMIT = 1 << 20
_RATIO_PROBE = 4 << 20
_READ_ERRORS = (OSError, EOFError, pa.ArrowException)
_ARROW_ROW = re.compile(r"Row #(\d+)")
_ARROW_COLUMN = re.compile(r"column #(\d+)")


class ParseError(PointlineError, ValueError):
    """A Bronze file cannot be read as the data type it claims to be (a file-level
    problem: the file is ``failed``, not quarantined row by row). ``file`` names it;
    ``row`` (the data row, as ``file_seq`` counts) and ``field`` are set when known."""

    reason: ClassVar[FileReason] = "unreadable_file"


class MissingColumnsError(ParseError):
    """The header lacks a column the data type requires."""

    reason: ClassVar[FileReason] = "missing_columns"


def parse_schema(header: Sequence[str]) -> pa.Schema:
    """The schema of the batches :func:`parse_csv` yields for a file with ``header``.

    >>> parse_schema(["price", "amount"]).names
    ['raw:price', 'raw:amount', 'file_seq', '_raw_line', '_pl_flag']
    """
    fields: list[pa.Field[Any]] = [pa.field(raw(name), pa.string()) for name in header]
    fields.append(pa.field(FILE_SEQ, pa.int64(), nullable=False))
    fields.append(pa.field(RAW_LINE, pa.string()))
    fields.append(FLAG_FIELD)
    return pa.schema(fields)


def parse_csv(
    path: str | Path,
    header: Sequence[str],
    *,
    display_path: str | None = None,
    block_size: int = BLOCK_SIZE,
    batch_rows: int = BATCH_ROWS,
    name: str = "parse",
    optional: Collection[str] = (),
) -> Source:
    """A source that streams the CSV file at ``path`` as :func:`parse_schema` batches.

    Args:
        path: the file, plain or gzip (detected by content).
        header: the columns the file must have, matched by name in any order (a vendor
            format's ``header``; blanks around the file's names are ignored); other
            columns are ignored.
        display_path: how errors name the file (for example its path relative to the
            bronze root); defaults to ``path``.
        block_size: bytes per CSV block; memory is about 32 blocks (the reader's
            read-ahead). A row must fit in one block.
        batch_rows: rows per batch yielded: consecutive blocks are joined until at
            least this many (the last batch may be smaller). Neither this nor
            ``block_size`` changes the rows, their order or ``file_seq``.
        name: the step name; also the step part of the malformed-row flag.
        optional: columns of ``header`` a file may lack; they come out all null.

    Nothing is read until the source is run; each run reads the file afresh.
    """
    schema = parse_schema(header)
    if block_size < 1 or batch_rows < 1:
        msg = f"block_size and batch_rows must be >= 1, got {block_size} and {batch_rows}"
        raise ValueError(msg)
    reader = _FileReader(
        path=Path(path),
        shown=display_path if display_path is not None else str(path),
        expected=header,
        schema=schema,
        block_size=block_size,
        batch_rows=batch_rows,
        step=name,
        optional=optional,
    )
    return Source(
        name=name,
        schema=schema,
        open=lambda: prefetched(reader.batches(), PREFETCH),
        position=reader.position,
        sha256=reader.sha256,
    )


def parse_format(
    fmt: FileFormat,
    path: str | Path,
    *,
    display_path: str | None = None,
    block_size: int = BLOCK_SIZE,
) -> Source:
    """The parse step of one file of a vendor's CSV format: :func:`parse_csv` with the
    format's header and optional columns (a :class:`~pointline.vendors.Vendor`'s
    ``parse`` for any CSV vendor)."""
    return parse_csv(
        path, fmt.header, display_path=display_path, block_size=block_size, optional=fmt.optional
    )


class _FileReader:
    """One file, read once per call of :meth:`batches`."""

    def __init__(
        self,
        *,
        path: Path,
        shown: str,
        expected: Sequence[str],
        schema: pa.Schema,
        block_size: int,
        batch_rows: int = BATCH_ROWS,
        step: str,
        optional: Collection[str] = (),
    ) -> None:
        self.optional = frozenset(optional)
        self.path = path
        self.shown = shown
        self.expected = tuple(expected)
        self.schema = schema
        self.block_size = block_size
        self.batch_rows = batch_rows
        self.step = step
        self._hashing: _Hashing | None = None  # the run's read of the file's bytes
        self._sha256: str | None = None
        self._ratio = 1.0
        self._done = 0
        self._blocks = 0

    def position(self) -> int:
        """About how many bytes of the file (compressed, for gzip) the batches handed out
        so far came from; the file size once the read is done. The CSV reader reads ahead
        many blocks, so the bytes it has read say little on a small file: each batch is
        about one ``block_size`` of text, which the compression ratio of the file's first
        MiBs turns into file bytes."""
        raw = self._hashing
        if raw is None or raw.closed:
            return self._done
        try:
            read_raw = raw.tell()
        except (OSError, ValueError):
            return self._done
        return min(read_raw, int(self._blocks * self.block_size * self._ratio))

    def sha256(self) -> str | None:
        """SHA-256 (hex) of every byte of the file the last run read, once it has read
        them all (so after its last batch); None before, and for a file with no data rows
        (its header is read apart)."""
        return self._sha256

    def error(
        self,
        message: str,
        kind: type[ParseError] = ParseError,
        *,
        row: int | None = None,
        field: str | None = None,
    ) -> ParseError:
        return kind(message, file=self.shown, row=row, field=field)

    # -- opening -----------------------------------------------------------------------

    def _is_gzip(self) -> bool:
        try:
            with open(self.path, "rb") as f:
                return f.read(2) == _GZIP_MAGIC
        except OSError as exc:
            msg = f"cannot be opened: {exc}"
            raise self.error(msg) from exc

    def _open(self, gzip: bool, *, track: bool = False) -> pa.NativeFile:
        """The file's text. ``track``: the run's read, whose bytes are hashed as they are
        read (:meth:`sha256`) and whose position :meth:`position` reports."""
        try:
            raw = pa.OSFile(str(self.path), "rb")
            if not track:
                return _inflated(raw) if gzip else raw
            self._hashing, self._done, self._blocks, self._sha256 = _Hashing(raw), 0, 0, None
            self._ratio = self._compression_ratio() if gzip else 1.0
            return _inflated(self._hashing) if gzip else pa.PythonFile(self._hashing, mode="r")
        except OSError as exc:
            msg = f"cannot be opened: {exc}"
            raise self.error(msg) from exc

    def _compression_ratio(self) -> float:
        """File bytes per text byte over the first 4 MiB of text (for :meth:`position`)."""
        try:
            with (
                pa.OSFile(str(self.path), "rb") as raw,
                _inflated(raw) as text,
            ):
                size = len(text.read(_RATIO_PROBE))
                return raw.tell() / size if size else 1.0
        except _READ_ERRORS:
            return 1.0  # a damaged file: the read itself reports it

    def _read_header(self, gzip: bool) -> tuple[list[str], int, bool] | None:
        """The header's names, its length in bytes with its line end, and whether any byte
        follows it; ``None`` for a file with no bytes at all (after decompression)."""
        buffer = b""
        with self._open(gzip) as stream:
            try:
                while True:
                    chunk = stream.read(_HEADER_CHUNK)
                    buffer += chunk
                    end = _line_end(buffer)
                    if end is not None or not chunk:
                        break
                    if len(buffer) > _HEADER_LIMIT:
                        msg = f"has no line end in its first {_HEADER_LIMIT} bytes (no header?)"
                        raise self.error(msg)
                if end is not None and len(buffer) <= end + 2:
                    buffer += stream.read(_HEADER_CHUNK)  # anything after the header?
            except (OSError, EOFError) as exc:
                raise self._io_error(exc, gzip=gzip) from exc
        if not buffer:
            return None
        line = buffer if end is None else buffer[:end]
        size = len(line) + (2 if buffer[len(line) : len(line) + 2] == b"\r\n" else 1)
        if line.startswith(_BOM):
            line = line[len(_BOM) :]
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = f"has a header that is not UTF-8 text: {exc}"
            raise self.error(msg) from exc
        names = [n.strip() for n in next(pycsv.reader([text]), [])]
        return names, size, len(buffer) > size

    def _column_names(self, names: list[str]) -> list[str]:
        """The names to give the CSV reader: the file's own, with every column that is
        not an expected one (or is a repeat) renamed out of the way."""
        wanted = set(self.expected)
        seen: set[str] = set()
        repeated: list[str] = []
        for n in names:
            if n in wanted and n in seen:
                repeated.append(n)
            seen.add(n)
        if repeated:
            msg = f"has column(s) {repeated} more than once in its header"
            raise self.error(msg)
        missing = [n for n in self.expected if n not in seen and n not in self.optional]
        if missing:
            got = ",".join(names)
            msg = (
                f"is missing column(s) {', '.join(missing)}: header is {got!r}, "
                f"expected {','.join(self.expected)} (in any order)"
            )
            raise self.error(msg, MissingColumnsError)
        return [n if n in wanted else f"\x00unused{i}" for i, n in enumerate(names)]

    # -- reading -----------------------------------------------------------------------

    def batches(self) -> Iterator[pa.RecordBatch]:
        gzip = self._is_gzip()
        header = self._read_header(gzip)
        if header is None:
            return
        names, header_size, has_rows = header
        column_names = self._column_names(names)
        if not has_rows:
            return
        malformed: deque[tuple[int, str]] = deque()

        def on_invalid(row: pacsv.InvalidRow) -> Literal["skip"]:
            # The reader starts after the header and its ``number`` skips blank lines, so
            # it is the data row; it is -1 when unknown (never with use_threads=False),
            # which _assemble reports. An exception raised here would be swallowed.
            number = -1 if row.number is None else row.number
            malformed.append((number, row.text))
            return "skip"

        string_types = {n: pa.string() for n in self.expected}
        stream = self._open(gzip, track=True)
        try:
            try:
                stream.read(header_size)  # the reader starts at the first data row
                reader = pacsv.open_csv(
                    stream,  # type: ignore[arg-type]  # the stub omits NativeFile
                    read_options=pacsv.ReadOptions(
                        block_size=self.block_size,
                        use_threads=False,
                        column_names=column_names,
                    ),
                    parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
                    convert_options=pacsv.ConvertOptions(
                        column_types=string_types,
                        include_columns=list(self.expected),
                        include_missing_columns=True,  # only optional ones can be missing
                        null_values=[""],
                        strings_can_be_null=True,
                        quoted_strings_can_be_null=True,
                    ),
                )
            except _READ_ERRORS as exc:
                raise self._read_error(exc, gzip=gzip, names=names) from exc
            done = 0
            held: list[pa.RecordBatch] = []  # blocks joined into one batch of batch_rows
            held_rows = 0
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except _READ_ERRORS as exc:
                    raise self._read_error(exc, gzip=gzip, names=names, done=done) from exc
                self._blocks += 1
                out = self._assemble(batch, done, malformed)
                if out.num_rows:
                    done += out.num_rows
                    held.append(out)
                    held_rows += out.num_rows
                    if held_rows >= self.batch_rows:
                        yield _joined(held)
                        held, held_rows = [], 0
            if malformed:
                held.append(self._assemble(None, done, malformed))
            if held:
                yield _joined(held)
            self._sha256 = self._read_to_end()
        finally:
            # The size first: position() reads it as soon as the raw file is closed, from
            # the thread the chain runs in.
            with contextlib.suppress(OSError):
                self._done = self.path.stat().st_size
            stream.close()  # closes the raw file too

    def _read_to_end(self) -> str:
        """The run's SHA-256 once its stream is done: any byte the reader left (none, for
        a well-formed file) is read and hashed too."""
        assert self._hashing is not None  # set by _open(track=True)
        try:
            while self._hashing.read(_CHUNK):
                pass
        except OSError as exc:
            raise self._io_error(exc, gzip=False) from exc
        return self._hashing.hexdigest()

    def _assemble(
        self,
        batch: pa.RecordBatch | None,
        done: int,
        malformed: deque[tuple[int, str]],
    ) -> pa.RecordBatch:
        """The good rows of ``batch`` (rows ``done + 1 ...`` of the file, less the malformed
        ones) with the malformed rows that fall among them put back in place. ``batch=None``
        flushes the malformed rows left at the end of the file."""
        good = 0 if batch is None else batch.num_rows
        taken: list[tuple[int, str]] = []
        # A malformed row belongs here if it comes before this batch's last good row; one
        # after it goes with the next batch (or the final flush), in the same place.
        while malformed and (batch is None or malformed[0][0] <= done + good + len(taken)):
            taken.append(malformed.popleft())
        n = good + len(taken)
        seqs = np.array([seq for seq, _ in taken], dtype=np.int64) - done - 1
        if taken and (seqs[0] < 0 or seqs[-1] >= n or np.any(np.diff(seqs) <= 0)):
            msg = (
                f"pyarrow's malformed-row numbers {[s for s, _ in taken]} do not fit rows "
                f"{done + 1}..{done + n}"
            )
            raise self.error(msg)
        file_seq = pa.array(np.arange(done + 1, done + n + 1, dtype=np.int64))
        flags = RowFlags(self.step, n)
        arrays: list[pa.Array[Any]]
        if not taken:
            assert batch is not None
            arrays = [*batch.columns, file_seq, pa.nulls(n, pa.string()), flags.array()]
            return pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        bad = np.zeros(n, dtype=np.bool_)
        bad[seqs] = True
        order = np.empty(n, dtype=np.int64)
        order[~bad] = np.arange(good)
        order[bad] = np.arange(good, n)
        fill = pa.nulls(len(taken), pa.string())
        columns: list[pa.Array[Any]] = []
        for i in range(len(self.expected)):
            column = fill if batch is None else pa.concat_arrays([batch.column(i), fill])
            columns.append(column.take(order))
        lines = pa.concat_arrays(
            [pa.nulls(good, pa.string()), pa.array([text for _, text in taken], pa.string())]
        ).take(order)
        flags.flag(bad, MALFORMED_ROW)
        arrays = [*columns, file_seq, lines, flags.array()]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    # -- errors ------------------------------------------------------------------------

    def _io_error(self, exc: OSError | EOFError, *, gzip: bool) -> ParseError:
        if gzip:
            return self.error(f"is not a valid gzip file: {exc}")
        return self.error(f"cannot be read: {exc}")

    def _read_error(
        self, exc: BaseException, *, gzip: bool, names: Sequence[str], done: int = 0
    ) -> ParseError:
        """A ParseError for an error of the CSV reader; ``names`` is the file's header, which
        pyarrow's "column #i" indexes (its "Row #n" is the data row, as the reader starts
        after the header); ``done`` data rows were read before the error."""
        text = str(exc)
        if isinstance(exc, OSError | EOFError):
            return self._io_error(exc, gzip=gzip)
        row_match = _ARROW_ROW.search(text)
        row = int(row_match.group(1)) if row_match else None
        column_match = _ARROW_COLUMN.search(text)
        field = None
        if column_match and int(column_match.group(1)) < len(names):
            field = names[int(column_match.group(1))]
        if "UTF8" in text or "UTF-8" in text:
            return self.error(f"is not valid UTF-8 text (pyarrow: {text})", row=row, field=field)
        hint = ""
        if "straddl" in text:
            hint = (
                f"; a row after data row {done} is longer than "
                f"block_size={self.block_size} bytes: raise it"
            )
        return self.error(f"cannot be parsed as CSV (pyarrow: {text}){hint}", row=row, field=field)


def _inflated(raw: pa.NativeFile | _Hashing) -> pa.NativeFile:
    """The text of the gzip stream ``raw``, inflated by ISA-L (``isal.igzip``: 3x zlib's
    speed; issue 16, 10M-row L2 file: 1.9 -> 0.6 s of CPU, 1 s less per ingest). Every
    member of a multi-member file is read, as by :mod:`gzip`. A damaged stream raises
    ``OSError`` (``isal`` and :mod:`gzip` errors) or ``EOFError`` (cut short). Closing
    the result closes ``raw``."""
    return pa.PythonFile(_GzipText(raw), mode="r")


class _GzipText(igzip.IGzipFile):
    """ISA-L's gzip reader over ``raw`` that closes ``raw`` when it is closed, as
    pyarrow's ``CompressedInputStream`` does (a ``GzipFile`` leaves a ``fileobj`` open)."""

    def __init__(self, raw: pa.NativeFile | _Hashing) -> None:
        super().__init__(fileobj=raw, mode="rb")  # type: ignore[no-untyped-call]  # isal: no hints
        self._raw_file = raw

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._raw_file.close()


class _Hashing(io.RawIOBase):
    """``raw`` read front to back, every byte read added to a SHA-256 (``hashlib``
    releases the GIL on chunks this size, so the hash runs beside the chain). What the
    run parsed is then what was hashed, with no second read of the file (issue 16: the
    re-read took ~0.3 s after each 10M-row ingest, on one core). Closing it closes
    ``raw``."""

    def __init__(self, raw: pa.NativeFile) -> None:
        super().__init__()
        self._raw = raw
        self._digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read() if size is None or size < 0 else self._raw.read(size)
        self._digest.update(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def tell(self) -> int:
        return self._raw.tell()

    def hexdigest(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def _joined(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    """One batch of ``batches`` (copied together; one is passed through)."""
    return batches[0] if len(batches) == 1 else pa.concat_batches(batches)  # type: ignore[attr-defined]  # pyarrow-stubs lag


def _line_end(buffer: bytes) -> int | None:
    """The index of the first line end (``\\n`` or ``\\r``) in ``buffer``, if any."""
    ends = [i for i in (buffer.find(b"\n"), buffer.find(b"\r")) if i >= 0]
    return min(ends) if ends else None
