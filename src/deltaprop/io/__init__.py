"""Files: safetensors model files, training checkpoints, ONNX export and PyTorch transfer.

``deltaprop.io.save`` / ``load`` / ``load_bundle`` read and write model files
(``model_files``); ``checkpoint`` saves and resumes training; ``onnx`` exports; ``open_npz``
memory-maps the arrays of an uncompressed ``.npz``.  Training
does not import this package: it trains without any file format.
"""

from ._files import ModelFileError, atomic_write
from .model_files import (
    ModelBundle,
    architecture,
    build,
    checksum,
    from_torch,
    load,
    load_bundle,
    read_safetensors,
    save,
    to_torch,
    write_safetensors,
)
from .npz_memmap import open_npz

__all__ = ["ModelBundle", "ModelFileError", "architecture", "atomic_write", "build",
           "checksum", "from_torch", "load", "load_bundle", "open_npz", "read_safetensors", "save",
           "to_torch", "write_safetensors"]
