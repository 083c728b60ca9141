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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

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


def _fields(buffer: bytes) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(field_number, wire_type, value)``; length-delimited values are ``bytes`` slices."""
    position, end = 0, len(buffer)
    while position < end:
        key, position = _read_varint(buffer, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = _read_varint(buffer, position)
        elif wire_type == 2:
            length, position = _read_varint(buffer, position)
            if position + length > end:
                raise ValueError(f"protobuf field {number} claims {length} bytes past the end of the message")
            value, position = buffer[position : position + length], position + length
        elif wire_type == 5:
            value, position = buffer[position : position + 4], position + 4
        elif wire_type == 1:
            value, position = buffer[position : position + 8], position + 8
        else:
            raise ValueError(f"protobuf field {number} has unsupported wire type {wire_type}")
        if position > end:
            raise ValueError(f"protobuf field {number} runs past the end of the message")
        yield number, wire_type, value


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _decode_value_list(kind: str, buffer: bytes) -> list:
    values: list = []
    for number, wire_type, value in _fields(buffer):
        if number != 1:
            continue
        if kind == BYTES:
            values.append(bytes(value))
        elif kind == INT64:
            if wire_type == 2:  # packed (what TensorFlow writes)
                position = 0
                while position < len(value):
                    item, position = _read_varint(value, position)
                    values.append(_signed64(item))
            else:
                values.append(_signed64(value))
        elif wire_type == 2:  # packed floats
            values.extend(struct.unpack(f"<{len(value) // 4}f", value))
        else:
            values.append(struct.unpack("<f", value)[0])
    return values


def _decode_feature(buffer: bytes) -> list:
    values: list = []
    for number, _, value in _fields(buffer):
        if number in _FIELD_KIND:
            values = _decode_value_list(_FIELD_KIND[number], value)
    return values


def _decode_map(buffer: bytes, decode_value) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for number, _, entry in _fields(buffer):
        if number != 1:
            continue
        key, value = "", b""
        for entry_number, _, entry_value in _fields(entry):
            if entry_number == 1:
                key = bytes(entry_value).decode("utf-8")
            elif entry_number == 2:
                value = entry_value
        result[key] = decode_value(value)
    return result


def _decode_feature_list(buffer: bytes) -> list[list]:
    return [_decode_feature(value) for number, _, value in _fields(buffer) if number == 1]


def parse_sequence_example(
    data: bytes, *, context_only: bool = False
) -> tuple[dict[str, list], dict[str, list[list]]]:
    """Decode a serialised ``tf.train.SequenceExample`` into ``(context, feature_lists)``.

    ``context_only`` skips decoding the feature lists (they come back empty): a cheap peek.

    Raises:
        ValueError: if the bytes are not a well-formed protobuf message.
    """
    context: dict[str, list] = {}
    feature_lists: dict[str, list[list]] = {}
    for number, _, value in _fields(bytes(data)):
        if number == 1:
            context.update(_decode_map(value, _decode_feature))
        elif number == 2 and not context_only:
            feature_lists.update(_decode_map(value, _decode_feature_list))
    return context, feature_lists


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
