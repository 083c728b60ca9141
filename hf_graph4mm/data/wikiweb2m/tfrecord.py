"""TFRecord files and ``tf.train.SequenceExample`` records, without TensorFlow.

A TFRecord file (optionally GZIP-compressed as a whole) is a run of records framed as::

    uint64 length (little endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)

Each ``data`` blob here is a serialised ``tf.train.SequenceExample`` protobuf. Its schema
is small and frozen, so it is read and written with a minimal wire-format codec below
rather than generated protobuf classes (no TensorFlow, no ``protoc``)::

    SequenceExample { Features context = 1; FeatureLists feature_lists = 2; }
    Features        { map<string, Feature> feature = 1; }
    FeatureLists    { map<string, FeatureList> feature_list = 1; }
    FeatureList     { repeated Feature feature = 1; }
    Feature         { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
    BytesList { repeated bytes value = 1; }  FloatList { repeated float value = 1 [packed]; }
    Int64List { repeated int64 value = 1 [packed]; }

Decoded features are plain lists: ``context[name] -> [values]`` and
``feature_lists[name] -> [[values of step 0], [values of step 1], ...]``; bytes stay bytes.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

import google_crc32c

GZIP_MAGIC = b"\x1f\x8b"
_CRC_MASK_DELTA = 0xA282EAD8
_HEADER = struct.Struct("<QI")  # length, masked crc of the length
_FOOTER = struct.Struct("<I")  # masked crc of the data

# Feature kinds, named as TensorFlow names the oneof fields.
BYTES, FLOAT, INT64 = "bytes_list", "float_list", "int64_list"
_KIND_FIELD = {BYTES: 1, FLOAT: 2, INT64: 3}
_FIELD_KIND = {number: kind for kind, number in _KIND_FIELD.items()}


class TFRecordError(ValueError):
    """A TFRecord file is truncated or corrupt; the message names the file and the record."""


def masked_crc32c(data: bytes) -> int:
    """CRC32C rotated and offset as TFRecord stores it (so CRCs of CRCs stay informative)."""
    crc = google_crc32c.value(bytes(data))
    return (((crc >> 15) | (crc << 17)) + _CRC_MASK_DELTA) & 0xFFFFFFFF


def _open(path: str | os.PathLike, compression: str | None):
    """Open for reading, honouring ``compression`` ("gzip", None, or "auto" = sniff the magic bytes)."""
    if compression == "auto":
        with open(path, "rb") as handle:
            compression = "gzip" if handle.read(2) == GZIP_MAGIC else None
    if compression == "gzip":
        return gzip.open(path, "rb")
    if compression is None:
        return open(path, "rb")
    raise ValueError(f"unknown TFRecord compression {compression!r} for {path}; use 'gzip', None or 'auto'")


def read_tfrecord(
    path: str | os.PathLike, *, compression: str | None = "auto", verify: bool = True
) -> Iterator[bytes]:
    """Yield the data of each record of a TFRecord file, checking both CRCs when ``verify``.

    Raises:
        TFRecordError: on a truncated file, a bad length CRC or a bad data CRC, naming the
            file and the 0-based record number.
    """
    record = 0
    try:
        with _open(path, compression) as handle:
            while True:
                header = handle.read(_HEADER.size)
                if not header:
                    return
                if len(header) < _HEADER.size:
                    raise TFRecordError(
                        f"{path}: record {record} is truncated (header has {len(header)} of {_HEADER.size} bytes)"
                    )
                length, length_crc = _HEADER.unpack(header)
                if verify and masked_crc32c(header[:8]) != length_crc:
                    raise TFRecordError(f"{path}: record {record} has a bad length CRC (corrupt file?)")
                data = handle.read(length)
                footer = handle.read(_FOOTER.size)
                if len(data) < length or len(footer) < _FOOTER.size:
                    raise TFRecordError(
                        f"{path}: record {record} is truncated (expected {length} data bytes and a CRC)"
                    )
                if verify and masked_crc32c(data) != _FOOTER.unpack(footer)[0]:
                    raise TFRecordError(f"{path}: record {record} has a bad data CRC (corrupt file?)")
                yield data
                record += 1
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        # A cut GZIP stream surfaces as EOFError from the decompressor, not as a short read.
        raise TFRecordError(f"{path}: record {record} is truncated or not valid GZIP ({error})") from error


def count_tfrecord(path: str | os.PathLike, *, compression: str | None = "auto") -> int:
    """Number of records in a TFRecord file, walking the framing only (length CRCs checked, data
    skipped, not CRC-checked): the cheap pass that numbers pages across shards.

    Raises:
        TFRecordError: as :func:`read_tfrecord`, for the framing.
    """
    record = 0
    try:
        with _open(path, compression) as handle:
            # A plain file seeks past its end without complaint; a GZIP stream stops at its end.
            size = None if isinstance(handle, gzip.GzipFile) else os.fstat(handle.fileno()).st_size
            while True:
                header = handle.read(_HEADER.size)
                if not header:
                    return record
                if len(header) < _HEADER.size:
                    raise TFRecordError(
                        f"{path}: record {record} is truncated (header has {len(header)} of {_HEADER.size} bytes)"
                    )
                length, length_crc = _HEADER.unpack(header)
                if masked_crc32c(header[:8]) != length_crc:
                    raise TFRecordError(f"{path}: record {record} has a bad length CRC (corrupt file?)")
                target = handle.tell() + length + _FOOTER.size
                if handle.seek(target) != target or (size is not None and target > size):
                    raise TFRecordError(
                        f"{path}: record {record} is truncated (expected {length} data bytes and a CRC)"
                    )
                record += 1
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise TFRecordError(f"{path}: record {record} is truncated or not valid GZIP ({error})") from error


def write_tfrecord(
    path: str | os.PathLike, records: Iterable[bytes], *, compression: str | None = "gzip"
) -> int:
    """Write ``records`` as a TFRecord file (GZIP-compressed by default); returns the record count."""
    if compression not in ("gzip", None):
        raise ValueError(f"unknown TFRecord compression {compression!r} for {path}; use 'gzip' or None")
    # mtime=0 keeps the bytes reproducible, so a regenerated sample does not churn in git.
    handle = gzip.GzipFile(path, "wb", mtime=0) if compression == "gzip" else open(path, "wb")  # noqa: SIM115
    count = 0
    with handle:
        for data in records:
            length = struct.pack("<Q", len(data))
            handle.write(length + struct.pack("<I", masked_crc32c(length)))
            handle.write(data)
            handle.write(_FOOTER.pack(masked_crc32c(data)))
            count += 1
    return count


# ---------------------------------------------------------------------------- protobuf wire format
# The decoder walks offsets into one ``bytes`` buffer and slices only leaf values. It has a fast
# path for the field order every writer uses (map key before value, one tag byte, one-byte
# lengths) and falls back to the general rules (any order, unknown fields skipped) otherwise.
class DecodedSequenceExample(NamedTuple):
    """``context[name] -> [values]``, ``feature_lists[name] -> [[step values], ...]`` (only the
    features asked for); ``kinds[name]`` and ``lengths[name]`` (steps, feature lists only) for
    every feature present, asked for or not. A kind is None when no value says it (empty)."""

    context: dict[str, list]
    feature_lists: dict[str, list[list]]
    kinds: dict[str, str | None]
    lengths: dict[str, int]


def _read_varint(buffer: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= len(buffer):
            raise ValueError("protobuf varint runs past the end of the message")
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7
        if shift > 63:
            raise ValueError("protobuf varint is longer than 10 bytes")


def _length(buffer: bytes, position: int, end: int) -> tuple[int, int]:
    """A length prefix at ``position``; returns ``(start, stop)`` of the payload, checked against ``end``."""
    if position >= end:
        raise ValueError("protobuf length prefix runs past the end of its message")
    length = buffer[position]
    if length < 0x80:  # one- and two-byte lengths inline: nearly every length in a page
        position += 1
    elif position + 1 < end and buffer[position + 1] < 0x80:
        length = (length & 0x7F) | buffer[position + 1] << 7
        position += 2
    else:
        length, position = _read_varint(buffer, position)
    stop = position + length
    if stop > end:
        raise ValueError(f"protobuf field claims {length} bytes past the end of its message")
    return position, stop


def _next_field(buffer: bytes, position: int, end: int) -> tuple[int, int, int, int]:
    """The field at ``position``: ``(number, wire_type, start, stop)``; for varints ``start`` is the value."""
    key, position = _read_varint(buffer, position)
    number, wire_type = key >> 3, key & 7
    if wire_type == 2:
        start, stop = _length(buffer, position, end)
        return number, wire_type, start, stop
    if wire_type == 0:
        value, stop = _read_varint(buffer, position)
        return number, wire_type, value, stop
    size = {5: 4, 1: 8}.get(wire_type)
    if size is None:
        raise ValueError(f"protobuf field {number} has unsupported wire type {wire_type}")
    if position + size > end:
        raise ValueError(f"protobuf field {number} runs past the end of the message")
    return number, wire_type, position, position + size


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _packed_varints(buffer: bytes, position: int, stop: int, values: list) -> None:
    append = values.append
    while position < stop:
        byte = buffer[position]
        if byte < 0x80:  # the common case: a small non-negative value in one byte
            append(byte)
            position += 1
        else:
            value, position = _read_varint(buffer, position)
            append(_signed64(value))
    if position > stop:
        raise ValueError("packed protobuf varints run past the end of their field")


def _value_list(buffer: bytes, position: int, end: int, kind: int) -> list:
    """The values of a BytesList (kind 1), FloatList (2) or Int64List (3) at ``[position, end)``."""
    values: list = []
    while position < end:
        if buffer[position] == 0x0A:  # field 1, length-delimited: a bytes value or a packed run
            length = buffer[position + 1] if position + 1 < end else 0x80
            if length < 0x80:  # inline one-byte length: most titles, URLs and captions
                start, stop = position + 2, position + 2 + length
                if stop > end:
                    raise ValueError(f"protobuf field claims {length} bytes past the end of its message")
            else:
                start, stop = _length(buffer, position + 1, end)
            if kind == 1:
                values.append(buffer[start:stop])
            elif kind == 3:
                _packed_varints(buffer, start, stop, values)
            else:
                values.extend(struct.unpack_from(f"<{(stop - start) // 4}f", buffer, start))
            position = stop
            continue
        number, wire_type, start, stop = _next_field(buffer, position, end)
        position = stop
        if number != 1:
            continue
        if kind == 3 and wire_type == 0:  # unpacked int64
            values.append(_signed64(start))
        elif kind == 2 and wire_type == 5:  # unpacked float
            values.append(struct.unpack_from("<f", buffer, start)[0])
        else:
            raise ValueError(f"protobuf {_FIELD_KIND[kind]} value has wire type {wire_type}")
    return values


def _feature(buffer: bytes, position: int, end: int, decode: bool) -> tuple[int, list | None]:
    """A Feature at ``[position, end)``: ``(kind 1/2/3 or 0 if unset, values or None if not decode)``."""
    kind, values = 0, None
    while position < end:
        tag = buffer[position]
        if tag == 0x0A or tag == 0x12 or tag == 0x1A:  # bytes_list, float_list, int64_list
            number = tag >> 3
            start, stop = _length(buffer, position + 1, end)
        else:
            number, wire_type, start, stop = _next_field(buffer, position, end)
            if wire_type != 2:
                number = 0
        position = stop
        if number in _FIELD_KIND:  # the last member of the oneof wins
            kind = number
            values = _value_list(buffer, start, stop, number) if decode else None
    if decode and values is None:
        values = []
    return kind, values


def _map_entries(buffer: bytes, position: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """``(key, value start, value stop)`` of each entry of a ``map<string, message>``."""
    while position < end:
        number, wire_type, start, stop = _next_field(buffer, position, end)
        position = stop
        if number != 1 or wire_type != 2:
            continue
        key, value_start, value_stop = b"", start, start
        if stop - start >= 2 and buffer[start] == 0x0A:  # fast path: key first, then value
            key_start, key_stop = _length(buffer, start + 1, stop)
            key = buffer[key_start:key_stop]
            if key_stop < stop and buffer[key_stop] == 0x12:
                value_start, value_stop = _length(buffer, key_stop + 1, stop)
                if value_stop == stop:
                    yield key, value_start, value_stop
                    continue
        entry = start
        while entry < stop:  # general rules: any order, repeats (last wins), unknown fields
            entry_number, entry_type, entry_start, entry_stop = _next_field(buffer, entry, stop)
            entry = entry_stop
            if entry_number == 1 and entry_type == 2:
                key = buffer[entry_start:entry_stop]
            elif entry_number == 2 and entry_type == 2:
                value_start, value_stop = entry_start, entry_stop
        yield key, value_start, value_stop


def _feature_list(buffer: bytes, position: int, end: int, name: str, decode: bool):
    """A FeatureList: ``(kind, steps, [values per step] or None)``; every step must share a kind."""
    kind, steps, values = 0, 0, [] if decode else None
    while position < end:
        if buffer[position] == 0x0A:
            start, stop = _length(buffer, position + 1, end)
        else:
            number, wire_type, start, stop = _next_field(buffer, position, end)
            if number != 1 or wire_type != 2:
                position = stop
                continue
        position = stop
        step_kind, step_values = _feature(buffer, start, stop, decode)
        if step_kind and step_kind != kind:
            if kind:
                raise ValueError(
                    f"feature list {name!r} mixes {_FIELD_KIND[kind]} and {_FIELD_KIND[step_kind]} steps"
                )
            kind = step_kind
        steps += 1
        if decode:
            values.append(step_values)
    return kind, steps, values


def _top_level(buffer: bytes) -> list[tuple[int, int, int]]:
    """``(field number, start, stop)`` of the SequenceExample's context (1) and feature lists (2)."""
    parts, position, end = [], 0, len(buffer)
    while position < end:
        number, wire_type, start, stop = _next_field(buffer, position, end)
        position = stop
        if number in (1, 2) and wire_type == 2:
            parts.append((number, start, stop))
    return parts


def decode_sequence_example(
    data: bytes, *, names: Container[str] | None = None, context_only: bool = False
) -> DecodedSequenceExample:
    """Decode a serialised ``tf.train.SequenceExample``; only features in ``names`` (all if None)
    have their values decoded, the others are walked for their kind and length only.

    Raises:
        ValueError: if the bytes are not a well-formed protobuf message, or a feature list mixes kinds.
    """
    buffer = bytes(data)
    context: dict[str, list] = {}
    feature_lists: dict[str, list[list]] = {}
    kinds: dict[str, str | None] = {}
    lengths: dict[str, int] = {}
    for number, start, stop in _top_level(buffer):
        if number == 2 and context_only:
            continue
        for raw_key, value_start, value_stop in _map_entries(buffer, start, stop):
            name = raw_key.decode("utf-8")
            decode = names is None or name in names
            if number == 1:
                kind, values = _feature(buffer, value_start, value_stop, decode)
                if decode:
                    context[name] = values
            else:
                kind, lengths[name], values = _feature_list(buffer, value_start, value_stop, name, decode)
                if decode:
                    feature_lists[name] = values
            kinds[name] = _FIELD_KIND.get(kind)
    return DecodedSequenceExample(context, feature_lists, kinds, lengths)


def parse_sequence_example(
    data: bytes, *, context_only: bool = False
) -> tuple[dict[str, list], dict[str, list[list]]]:
    """Decode a serialised ``tf.train.SequenceExample`` into ``(context, feature_lists)``.

    ``context_only`` skips decoding the feature lists (they come back empty): a cheap peek.

    Raises:
        ValueError: if the bytes are not a well-formed protobuf message.
    """
    decoded = decode_sequence_example(data, context_only=context_only)
    return decoded.context, decoded.feature_lists


# ---------------------------------------------------------------------------- encoding
def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 -> two's complement, as protobuf does
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _infer_kind(name: str, values: Sequence) -> str:
    if not values or isinstance(values[0], (bytes, str)):
        return BYTES
    if isinstance(values[0], int):  # bool is an int too
        return INT64
    if isinstance(values[0], float):
        return FLOAT
    raise ValueError(f"feature {name!r}: cannot encode values of type {type(values[0]).__name__}")


def _encode_feature(name: str, values: Sequence, kind: str | None) -> bytes:
    kind = kind or _infer_kind(name, values)
    if kind == BYTES:
        body = b"".join(
            _length_delimited(1, v.encode("utf-8") if isinstance(v, str) else bytes(v)) for v in values
        )
    elif kind == INT64:
        body = _length_delimited(1, b"".join(_varint(int(v)) for v in values)) if values else b""
    elif kind == FLOAT:
        body = _length_delimited(1, struct.pack(f"<{len(values)}f", *values)) if values else b""
    else:
        raise ValueError(f"feature {name!r}: unknown kind {kind!r}; use {BYTES!r}, {FLOAT!r} or {INT64!r}")
    return _length_delimited(_KIND_FIELD[kind], body)


def _map_entry(key: str, value: bytes) -> bytes:
    return _length_delimited(1, _length_delimited(1, key.encode("utf-8")) + _length_delimited(2, value))


def encode_sequence_example(
    context: Mapping[str, Sequence],
    feature_lists: Mapping[str, Sequence[Sequence]],
    kinds: Mapping[str, str] | None = None,
) -> bytes:
    """Serialise a ``tf.train.SequenceExample`` (the inverse of :func:`parse_sequence_example`).

    ``kinds`` maps feature names to ``"bytes_list"``, ``"float_list"`` or ``"int64_list"``;
    without it the kind is taken from the first value (empty lists become bytes lists).
    """
    kinds = kinds or {}
    context_body = b"".join(
        _map_entry(name, _encode_feature(name, values, kinds.get(name))) for name, values in context.items()
    )
    lists_body = b"".join(
        _map_entry(
            name,
            b"".join(_length_delimited(1, _encode_feature(name, step, kinds.get(name))) for step in steps),
        )
        for name, steps in feature_lists.items()
    )
    return _length_delimited(1, context_body) + _length_delimited(2, lists_body)
