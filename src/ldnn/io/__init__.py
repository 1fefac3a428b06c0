"""Files and text: atomic writes and where they may go, model files, config.toml, CSV and
text tables.

Nothing here knows about training; every module above writes through these.
"""

from .atomic import atomic_write, atomic_write_text
from .hashing import arrays_sha256, file_sha256
from .model_file import FORMAT_VERSION, load_model, save_model
from .outputs import check_output
from .tables import csv_pieces, csv_text, markdown_table, text_table
from .toml import dumps_toml, read_toml

__all__ = [
    "FORMAT_VERSION",
    "arrays_sha256",
    "file_sha256",
    "atomic_write",
    "atomic_write_text",
    "check_output",
    "csv_pieces",
    "csv_text",
    "dumps_toml",
    "load_model",
    "markdown_table",
    "read_toml",
    "save_model",
    "text_table",
]
