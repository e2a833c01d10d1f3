"""Reading untrusted bytes and writing files that nothing can lose: only regular files are
opened, no claim of a header is believed before it is checked against the file's size, and
writes are atomic, honour the umask and clean up after interrupted writes."""

import json
import os
import re
import stat
import struct
import threading
import time
import tracemalloc

import numpy as np
import pytest

import deltaprop as dp

pytest.importorskip("safetensors")
fcntl = pytest.importorskip("fcntl")                  # POSIX: locks, FIFOs, umask
dio = pytest.importorskip("deltaprop.io")
from deltaprop.io import _files  # noqa: E402
from deltaprop.io.checkpoint import load_checkpoint  # noqa: E402

MiB = 2**20


def _model_file(tmp_path, name="m.safetensors"):
    return dio.save(dp.mlp([3, 4, 2], seed=0), tmp_path / name)


def _raw(path, header, data=b""):
    """A file of the safetensors layout with any ``header`` (a dict, or bytes as they are)."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


def _peak(call):
    """Run ``call`` (expected to raise ModelFileError); return (error, peak traced bytes)."""
    tracemalloc.start()
    try:
        with pytest.raises(dio.ModelFileError) as error:
            call()
        return error.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- not a regular file ------------------------------------------------------------------------
@pytest.mark.parametrize("reader", [dio.load, load_checkpoint])
def test_a_device_is_refused_before_it_is_read(reader):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    error, peak = _peak(lambda: reader("/dev/zero"))
    assert "not a regular file (a character device)" in str(error) and peak < MiB


@pytest.mark.parametrize("reader", [dio.load, load_checkpoint])
def test_a_fifo_is_refused_without_blocking(tmp_path, reader):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    outcome = []

    def attempt():
        try:
            reader(fifo)
        except dio.ModelFileError as error:
            outcome.append(str(error))

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():                      # unblock the reader so the test can end
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading a FIFO blocked")
    assert outcome and "FIFO" in outcome[0]


def test_a_folder_is_refused_and_a_link_to_a_file_is_read(tmp_path):
    with pytest.raises(dio.ModelFileError, match=r"not a regular file \(a folder\)"):
        dio.load(tmp_path)
    link = tmp_path / "link.safetensors"
    link.symlink_to(_model_file(tmp_path))
    assert dio.load(link).in_features == 3


def test_open_regular_checks_the_opened_descriptor(tmp_path, monkeypatch):
    """A file swapped for a FIFO between ``stat`` and ``open`` is caught by ``fstat`` and the
    open does not block (``O_NONBLOCK``)."""
    path, fifo = _model_file(tmp_path), tmp_path / "fifo"
    os.mkfifo(fifo)
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda name, flags, *a: real_open(fifo, flags, *a))
    with pytest.raises(dio.ModelFileError, match="FIFO"):
        _files.open_regular(path)


# -- the header's claims against the file --------------------------------------------------------
def test_a_300_byte_file_claiming_a_huge_layer_is_refused_before_allocating(tmp_path):
    header = {"0.weight": {"dtype": "F32", "shape": [20000, 20000],
                           "data_offsets": [0, 1600000000]}}
    path = _raw(tmp_path / "m.safetensors", header, bytes(300 - 100))
    error, peak = _peak(lambda: dio.load(path))
    assert "needs 1600000000 bytes" in str(error) and peak < MiB


def test_a_header_claiming_a_few_bytes_of_a_2_gib_file_is_refused_unread(tmp_path):
    path = _model_file(tmp_path)
    with open(path, "r+b") as stream:                  # sparse: no 2 GiB written to disk
        stream.truncate(2 * 1024**3)
    error, peak = _peak(lambda: dio.load(path))
    assert "the tensors account for" in str(error) and peak < MiB


@pytest.mark.parametrize("edit, message", [
    (lambda fields: fields, "the tensors do not match the architecture: missing"),
    (lambda fields: fields | {"format": "other"}, "not a deltaprop-model file"),
    (lambda fields: fields | {"architecture": "[]"}, "field 'architecture'"),
])
def test_a_file_is_refused_for_its_header_before_its_tensors_are_read(tmp_path, edit, message):
    """A sparse file really holding the 64 MB its header claims, for a tensor the file's own
    metadata refuses: nothing of that size is allocated."""
    _, fields = _files.read_safetensors(_model_file(tmp_path))
    size = 4000 * 4000 * 4
    header = {"0.weight": {"dtype": "F32", "shape": [4000, 4000], "data_offsets": [0, size]},
              "__metadata__": edit(fields)}
    path = _raw(tmp_path / "big.safetensors", header)
    with open(path, "r+b") as stream:
        stream.truncate(path.stat().st_size + size)
    error, peak = _peak(lambda: dio.load(path))
    assert peak < MiB, peak
    assert re.search(message, str(error))


def test_a_huge_header_length_is_refused_unread(tmp_path):
    path = tmp_path / "m.safetensors"
    with open(path, "wb") as stream:
        stream.write(struct.pack("<Q", 1024**3) + b"{")
        stream.truncate(1024**3 + 8)                   # the claim fits in the (sparse) file
    error, peak = _peak(lambda: dio.load(path))
    assert f"at most {_files.HEADER_LIMIT}" in str(error) and peak < MiB
    path.write_bytes(struct.pack("<Q", 2**63) + b"{}")
    with pytest.raises(dio.ModelFileError, match="truncated"):
        dio.load(path)


GOOD = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F64", "shape": [1], "data_offsets": [8, 16]}}
BAD_HEADERS = {
    "gap": ({**GOOD, "b": {"dtype": "F64", "shape": [1], "data_offsets": [9, 17]}}, 17,
            "a gap or overlap"),
    "overlap": ({**GOOD, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, 16,
                "gap or overlap"),
    "trailing bytes": (GOOD, 20, "account for 16 bytes but the file holds 20"),
    "range longer than dtype x shape": (
        {**GOOD, "b": {"dtype": "F64", "shape": [1], "data_offsets": [8, 24]}}, 24,
        "needs 8 bytes"),
    "negative dimension": ({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, 8,
                           "invalid shape"),
    "float dimension": ({"a": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}, 8,
                        "invalid shape"),
    "shape a string": ({"a": {"dtype": "F32", "shape": "\x1b[2J", "data_offsets": [0, 4]}}, 4,
                       r"invalid shape '\\x1b\[2J'"),
    "bool dimension": ({"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, 4,
                       "invalid shape"),
    "too many axes": ({"a": {"dtype": "F32", "shape": [1] * 33, "data_offsets": [0, 4]}}, 4,
                      "invalid shape"),
    "huge axis": ({"a": {"dtype": "F32", "shape": [0, 2**64], "data_offsets": [0, 0]}}, 0,
                  "invalid shape"),
    "offsets not a pair": ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0]}}, 8,
                           "invalid data_offsets"),
    "unknown dtype": ({"a": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, 16,
                      "unknown dtype"),
    "lower-case dtype": ({"a": {"dtype": "f32", "shape": [1], "data_offsets": [0, 4]}}, 4,
                         "unknown dtype 'f32'"),
    "dtype a list": ({"a": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, 4,
                     "unknown dtype"),
    "dtype an object": ({"a": {"dtype": {}, "shape": [1], "data_offsets": [0, 4]}}, 4,
                        "unknown dtype"),
    "empty tensor of a shape NumPy cannot hold": (
        {"a": {"dtype": "F32", "shape": [2**62, 2**62, 0], "data_offsets": [0, 0]}}, 0,
        "invalid shape"),
    "empty tensor too large for its item size": (
        {"a": {"dtype": "F32", "shape": [2**61, 0], "data_offsets": [0, 0]}}, 0,
        "invalid shape"),
    "offsets as floats": ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0.0, 4.0]}}, 4,
                          "invalid data_offsets"),
    "offsets as booleans": ({"a": {"dtype": "U8", "shape": [1], "data_offsets": [False, True]}},
                            1, "invalid data_offsets"),
    "negative offset": ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}, 4,
                        "invalid data_offsets"),
    "the same range twice": ({"a": GOOD["a"], "b": GOOD["a"]}, 8, "gap or overlap"),
    "extra entry key": ({"a": {**GOOD["a"], "x": 1}}, 8, "exactly dtype, shape"),
    "metadata not strings": ({**GOOD, "__metadata__": {"format": 1}}, 16, "map names to "
                                                                          "strings"),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_header_claims_are_checked(tmp_path, case):
    header, size, message = BAD_HEADERS[case]
    path = _raw(tmp_path / "m.safetensors", header, bytes(size))
    with pytest.raises(dio.ModelFileError, match=message):
        _files.read_safetensors(path)


def test_the_largest_empty_tensors_numpy_holds_are_read(tmp_path):
    header = {"a": {"dtype": "F32", "shape": [2**61 - 1, 0], "data_offsets": [0, 0]},
              "b": {"dtype": "U8", "shape": [0, 2**63 - 1], "data_offsets": [0, 0]}}
    tensors, _ = _files.read_safetensors(_raw(tmp_path / "m.safetensors", header))
    assert tensors["a"].shape == (2**61 - 1, 0) and tensors["b"].shape == (0, 2**63 - 1)


NOT_A_HEADER = {
    "empty": (b"", "not JSON"),
    "a list": (b"[]", "not a JSON object, found list"),
    "a string": (b'"x"', "not a JSON object, found str"),
    "a number": (b"5", "not a JSON object, found int"),
    "not UTF-8": (b'{"\xff": 1}', "not JSON.*utf-8"),
    "a byte order mark": (b"\xef\xbb\xbf{}", "not JSON"),
    "trailing garbage": (b"{} x", "not JSON"),
    "a NUL after the object": (b"{}\x00", "not JSON"),
    "nested too deeply": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "an integer of 5000 digits": (b'{"a": ' + b"9" * 5000 + b"}", "not JSON"),
    "1e400": (b'{"a": 1e400}', "tensor 'a' needs exactly"),
}


@pytest.mark.parametrize("case", sorted(NOT_A_HEADER))
def test_a_header_that_is_not_a_json_object_of_tensors_is_refused(tmp_path, case):
    text, message = NOT_A_HEADER[case]
    with pytest.raises(dio.ModelFileError, match=message):
        _files.read_safetensors(_raw(tmp_path / "m.safetensors", text))


def test_ambiguous_json_headers_are_refused(tmp_path):
    text = b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, ' \
           b'"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}'
    path = _raw(tmp_path / "m.safetensors", text, bytes(8))
    with pytest.raises(dio.ModelFileError, match="duplicate key 'a'"):
        _files.read_safetensors(path)
    path = _raw(tmp_path / "m.safetensors", b'{"__metadata__": {"x": "1"}, "n": NaN}')
    with pytest.raises(dio.ModelFileError, match="NaN is not allowed"):
        _files.read_safetensors(path)


def test_the_reader_agrees_with_safetensors_on_a_sound_file(tmp_path):
    from safetensors.numpy import load_file, save_file

    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "e": np.zeros((0, 4)),
              "i": np.array([1, -2], np.int64)}
    save_file(arrays, str(tmp_path / "x.safetensors"), metadata={"k": "v"})
    tensors, fields = _files.read_safetensors(tmp_path / "x.safetensors")
    expected = load_file(str(tmp_path / "x.safetensors"))
    assert fields == {"k": "v"} and sorted(tensors) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(tensors[name], value)
        assert tensors[name].dtype == value.dtype and tensors[name].flags.writeable


# -- writing: permissions --------------------------------------------------------------------------
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_honour_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        path = _model_file(tmp_path)
        text = _files.atomic_write(tmp_path / "t.txt", b"x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert stat.S_IMODE(os.stat(text).st_mode) == mode


def test_current_umask_is_read_without_changing_it():
    previous = os.umask(0o027)
    try:
        assert _files.current_umask() == 0o027
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(previous)


def test_overwriting_keeps_the_files_own_mode(tmp_path):
    path = _model_file(tmp_path)
    os.chmod(path, 0o640)
    _model_file(tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


# -- writing: what the path names ------------------------------------------------------------------
def _special(tmp_path, kind):
    if kind == "fifo":
        os.mkfifo(tmp_path / "special")
        return tmp_path / "special"
    if kind == "folder":
        (tmp_path / "special").mkdir()
        return tmp_path / "special"
    if kind == "link to a fifo":
        os.mkfifo(tmp_path / "fifo")
        (tmp_path / "special").symlink_to(tmp_path / "fifo")
        return tmp_path / "special"
    try:                                                # a private copy of /dev/null: a
        os.mknod(tmp_path / "special", 0o666 | stat.S_IFCHR, os.makedev(1, 3))   # failing
    except (OSError, AttributeError):                   # test must not replace the real one
        pytest.skip("creating a device node needs privileges")
    return tmp_path / "special"


@pytest.mark.parametrize("kind, error, message", [
    ("fifo", FileExistsError, "it is a FIFO"),
    ("link to a fifo", FileExistsError, "it is a FIFO"),
    ("folder", IsADirectoryError, "it is a folder"),
    ("device", FileExistsError, "it is a character device")])
def test_a_write_never_replaces_what_is_not_a_regular_file(tmp_path, kind, error, message):
    path = _special(tmp_path, kind)
    before = os.lstat(path)
    with pytest.raises(error, match=message):
        _model_file(tmp_path, name=path)
    after = os.lstat(path)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (before.st_mode, before.st_ino,
                                                            before.st_rdev)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(_files.TEMP_SUFFIX)]


@pytest.mark.parametrize("name, error, message", [
    ("no/such/folder/m.safetensors", FileNotFoundError, "the folder .*no/such/folder does not"),
    ("m.safetensors/", IsADirectoryError, "names a folder"),
    ("", ValueError, "path is empty")])
def test_a_path_that_cannot_be_written_is_a_clear_error(tmp_path, name, error, message):
    path = f"{tmp_path}/{name}" if name else name
    with pytest.raises(error, match=message):
        dio.save(dp.mlp([3, 4, 2], seed=0), path)
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_folder_is_named_in_the_error(tmp_path, monkeypatch):
    """As a user without write permission there (simulated: the tests may run as root)."""
    import errno
    import tempfile

    def refused(prefix, suffix, dir):
        raise PermissionError(errno.EACCES, "Permission denied",
                              os.path.join(dir, prefix + "abcdefgh" + suffix))

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError, match="cannot write .*m.safetensors: no permission to "
                                              f"create files in the folder {tmp_path}:"):
        _model_file(tmp_path)


def test_a_path_of_the_wrong_type_is_a_clear_error(tmp_path):
    with pytest.raises(TypeError, match=r"path must be a str, bytes or os\.PathLike, got int"):
        _files.atomic_write(3, b"x")
    path = _files.atomic_write(os.fsencode(tmp_path / "b.bin"), b"x")
    assert path == tmp_path / "b.bin" and path.read_bytes() == b"x"


def test_a_write_through_a_link_replaces_the_file_it_points_to(tmp_path):
    (tmp_path / "runs").mkdir()
    real = _model_file(tmp_path / "runs")
    link = tmp_path / "latest.safetensors"
    link.symlink_to(real)
    dio.save(dp.mlp([5, 2], seed=1), link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert dio.load(real).in_features == 5
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(_files.TEMP_SUFFIX)]


# -- writing: interrupted writes -------------------------------------------------------------------
def _temp(tmp_path, name, age_s=3600.0):
    path = tmp_path / name
    path.write_bytes(b"half a file")
    past = time.time() - age_s
    os.utime(path, (past, past))
    return path


def test_stale_temporaries_are_removed_by_the_next_write(tmp_path):
    stale = _temp(tmp_path, ".m.safetensors.ab12cd_9.deltaprop-tmp")
    other_target = _temp(tmp_path, ".other.npz.zzzzzzzz.deltaprop-tmp")
    young = _temp(tmp_path, ".m.safetensors.youngone.deltaprop-tmp", age_s=0)
    locked = _temp(tmp_path, ".m.safetensors.lockedxx.deltaprop-tmp")
    users = [_temp(tmp_path, name) for name in (
        ".m.safetensors.tmp", "m.safetensors.ab12cd_9.deltaprop-tmp", "notes.deltaprop-tmp",
        ".m.safetensors.ab12cd_9.deltaprop-tmp.bak", ".m.safetensors.AB12CD_9.deltaprop-tmp")]
    link = tmp_path / ".m.safetensors.linklink.deltaprop-tmp"
    link.symlink_to(users[0])
    with open(locked, "rb") as writer:                 # a live writer holds its lock
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)
        _model_file(tmp_path)
    left = {p.name for p in tmp_path.iterdir()}
    assert stale.name not in left and other_target.name not in left
    assert {young.name, locked.name, link.name, *(u.name for u in users)} <= left
    assert dio.load(tmp_path / "m.safetensors").in_features == 3


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = _model_file(tmp_path)
    before = path.read_bytes()

    def power_cut(descriptor):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(OSError, match="disk full"):
        dio.save(dp.mlp([3, 9, 2], seed=1), path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_onnx_export_honours_the_umask(tmp_path):
    pytest.importorskip("onnx")
    from deltaprop.io.onnx import export_onnx

    previous = os.umask(0o022)
    try:
        path = export_onnx(dp.mlp([3, 4, 2], seed=0), tmp_path / "m.onnx")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


# -- every single-byte change and every truncation -------------------------------------------------
def _same_bundle(a, b):
    return (repr(a.model) == repr(b.model) and a.metadata == b.metadata and a.loss == b.loss
            and all(np.array_equal(v, b.model.state_dict()[k])
                    for k, v in a.model.state_dict().items())
            and np.array_equal(a.preprocessing.mean, b.preprocessing.mean)
            and np.array_equal(a.preprocessing.scale, b.preprocessing.scale))


@pytest.mark.slow
def test_every_changed_byte_and_every_truncation_is_refused_or_harmless(tmp_path):
    """A bit flipped anywhere, or the file cut anywhere, is a ModelFileError, unless the bytes
    mean the same thing (e.g. a space of the header's padding turned into a tab)."""
    from deltaprop.training.preprocessing import Standardizer

    path = tmp_path / "m.safetensors"
    dio.save(dp.mlp([2, 3, 1], seed=0), path, loss="mse", metadata={"k": [1, "é"]},
             preprocessing=Standardizer().fit(np.arange(6.0).reshape(3, 2)))
    original, data = dio.load_bundle(path), path.read_bytes()
    changed = tmp_path / "c.safetensors"
    for position in range(len(data)):
        for mutated in (data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1:],
                        data[:position]):
            changed.write_bytes(mutated)
            try:
                bundle = dio.load_bundle(changed)
            except dio.ModelFileError:
                continue
            assert _same_bundle(bundle, original), (position, len(mutated))


@pytest.mark.parametrize("reader", [dio.load, load_checkpoint])
@pytest.mark.parametrize("path", [0, 3.5, None, True])
def test_a_path_of_another_type_is_refused_by_the_readers(reader, path):
    """An int would otherwise be taken as an open file's number by ``os.stat``."""
    with pytest.raises(TypeError, match=f"path must be a str, bytes or os.PathLike, got "
                                        f"{type(path).__name__}"):
        reader(path)


def test_errors_name_a_bytes_path_as_text(tmp_path):
    path = _raw(tmp_path / "m.safetensors", b"[]")
    with pytest.raises(dio.ModelFileError, match=f"^{tmp_path}/m.safetensors: not a "):
        dio.load(os.fsencode(path))


def test_a_model_file_given_as_a_checkpoint_says_what_it_is(tmp_path):
    with pytest.raises(dio.ModelFileError, match="it is a model file: load it with"):
        load_checkpoint(_model_file(tmp_path))
