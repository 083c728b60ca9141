"""TFRecord framing, masked CRC32C and the SequenceExample codec, against hand-computed bytes."""

import gzip
import random
import struct

import pytest

from hf_graph4mm.data.wikiweb2m.tfrecord import (
    TFRecordError,
    encode_sequence_example,
    masked_crc32c,
    parse_sequence_example,
    read_tfrecord,
    write_tfrecord,
)


def reference_crc32c(data: bytes) -> int:
    """Bitwise CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): slow but obviously right."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def reference_mask(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return (
        length
        + struct.pack("<I", reference_mask(reference_crc32c(length)))
        + data
        + struct.pack("<I", reference_mask(reference_crc32c(data)))
    )


def test_crc32c_matches_the_standard_check_value_and_a_bitwise_reference():
    assert reference_crc32c(b"123456789") == 0xE3069283  # the published CRC-32C check value
    rng = random.Random(0)
    for size in (0, 1, 7, 100):
        data = bytes(rng.randrange(256) for _ in range(size))
        assert masked_crc32c(data) == reference_mask(reference_crc32c(data))


# context {"a": int64 [1]}, no feature lists; derived by hand from the wire format:
# Int64List{value: packed [1]} = 0a 01 01; Feature{int64_list} = 1a 03 ..; entry{key "a", value} =
# 0a 01 61 12 05 ..; Features = 0a 0a ..; SequenceExample{context} = 0a 0c .., feature_lists = 12 00.
CONTEXT_ONLY = bytes.fromhex("0a0c0a0a0a016112051a030a01011200")
# feature_lists {"b": [[b"x"]]}: BytesList 0a 01 78; Feature{bytes_list} 0a 03 ..; FeatureList 0a 05 ..;
# entry 0a 01 62 12 07 ..; FeatureLists 0a 0c ..; SequenceExample{feature_lists} 12 0e ..
LISTS_ONLY = bytes.fromhex("0a00120e0a0c0a016212070a050a030a0178")


def test_encoder_writes_the_hand_derived_bytes():
    assert encode_sequence_example({"a": [1]}, {}) == CONTEXT_ONLY
    assert encode_sequence_example({}, {"b": [[b"x"]]}) == LISTS_ONLY


def test_decoder_reads_the_hand_derived_bytes():
    assert parse_sequence_example(CONTEXT_ONLY) == ({"a": [1]}, {})
    assert parse_sequence_example(LISTS_ONLY) == ({}, {"b": [[b"x"]]})


def test_decoder_accepts_unpacked_and_negative_int64_and_skips_unknown_fields():
    # Int64List with two unpacked values 5 and -1 (ten-byte varint), then an unknown field 9.
    int64_list = bytes.fromhex("080508ffffffffffffffffff01")
    feature = b"\x1a" + bytes([len(int64_list)]) + int64_list
    entry = b"\x0a\x01n\x12" + bytes([len(feature)]) + feature
    features = b"\x0a" + bytes([len(entry)]) + entry
    message = b"\x0a" + bytes([len(features)]) + features + bytes.fromhex("4801")
    assert parse_sequence_example(message) == ({"n": [5, -1]}, {})


def test_roundtrip_of_mixed_features_including_empty_steps():
    context = {"split": [b"train"], "count": [3, -2, 2**40], "score": [0.5, -1.25]}
    lists = {"title": [[b"A"], [], [b"B", "c\u00e9".encode()]], "parent": [[-1], [0], []]}
    kinds = {"parent": "int64_list"}
    decoded_context, decoded_lists = parse_sequence_example(encode_sequence_example(context, lists, kinds))
    assert decoded_context == context
    assert decoded_lists == lists


def test_malformed_protobuf_raises_value_error():
    with pytest.raises(ValueError, match="past the end"):
        parse_sequence_example(b"\x0a\x10\x0a")


@pytest.mark.parametrize("compression", ["gzip", None])
def test_tfrecord_framing_matches_the_reference_and_roundtrips(tmp_path, compression):
    records = [b"", b"one", bytes(range(256)) * 3]
    path = tmp_path / "file.tfrecord"
    assert write_tfrecord(path, records, compression=compression) == 3
    raw = path.read_bytes()
    if compression == "gzip":
        assert raw[:2] == b"\x1f\x8b"
        raw = gzip.decompress(raw)
    assert raw == b"".join(frame(r) for r in records)
    assert list(read_tfrecord(path)) == records  # compression sniffed from the magic bytes


def write_plain(path, records) -> list[int]:
    """Uncompressed file from reference framing; returns each record's start offset."""
    offsets, blob = [], b""
    for record in records:
        offsets.append(len(blob))
        blob += frame(record)
    path.write_bytes(blob)
    return offsets


RECORDS = [b"alpha" * 3, b"beta" * 5, b"gamma" * 7]


def test_truncated_file_names_file_and_record(tmp_path):
    path = tmp_path / "cut.tfrecord"
    offsets = write_plain(path, RECORDS)
    path.write_bytes(path.read_bytes()[: offsets[2] + 20])  # inside record 2's data
    with pytest.raises(TFRecordError, match=r"cut\.tfrecord: record 2 is truncated"):
        list(read_tfrecord(path))
    path.write_bytes(path.read_bytes()[: offsets[1] + 5])  # inside record 1's header
    with pytest.raises(TFRecordError, match=r"cut\.tfrecord: record 1 is truncated"):
        list(read_tfrecord(path))


def test_truncated_gzip_stream_names_file_and_record(tmp_path):
    path = tmp_path / "cut.tfrecord.gz"
    write_tfrecord(path, [bytes(random.Random(1).randbytes(4000)) for _ in range(3)])
    path.write_bytes(path.read_bytes()[:-2000])
    with pytest.raises(TFRecordError, match=r"cut\.tfrecord\.gz: record \d is truncated"):
        list(read_tfrecord(path))


def test_bad_length_crc_names_file_and_record(tmp_path):
    path = tmp_path / "bad.tfrecord"
    offsets = write_plain(path, RECORDS)
    blob = bytearray(path.read_bytes())
    blob[offsets[1] + 8] ^= 0xFF  # first byte of record 1's length CRC
    path.write_bytes(bytes(blob))
    with pytest.raises(TFRecordError, match=r"bad\.tfrecord: record 1 has a bad length CRC"):
        list(read_tfrecord(path))


@pytest.mark.parametrize("compress", [False, True])
def test_bad_data_crc_names_file_and_record(tmp_path, compress):
    path = tmp_path / "bad.tfrecord"
    offsets = write_plain(path, RECORDS)
    blob = bytearray(path.read_bytes())
    blob[offsets[2] + 12] ^= 0x01  # first data byte of record 2
    path.write_bytes(gzip.compress(bytes(blob)) if compress else bytes(blob))
    reader = read_tfrecord(path)
    assert next(reader) == RECORDS[0] and next(reader) == RECORDS[1]
    with pytest.raises(TFRecordError, match=r"bad\.tfrecord: record 2 has a bad data CRC"):
        next(reader)
    assert len(list(read_tfrecord(path, verify=False))) == 3  # verification can be switched off
