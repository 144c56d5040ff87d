"""Per-epoch metrics as JSON lines and CSV (one row per epoch, the same rows in both files).

JSON lines (``metrics.jsonl``) are what the program reads back for plots and ``--resume``;
CSV (``metrics.csv``) opens in a spreadsheet. Each row is appended as soon as its epoch ends, so
an interrupted run keeps the rows of every finished epoch. A run with a held-out validation set
also writes its test-set figures once, at the end (``test.json``).
"""
from __future__ import annotations

import csv
import json
import math
import os

from ..files import replace_atomically


def read_metrics(path) -> list[dict]:
    """The rows of a ``metrics.jsonl`` file (an empty list when it does not exist)."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class MetricsWriter:
    """Append rows (dicts of numbers and strings) to ``<folder>/metrics.jsonl`` and ``metrics.csv``.

    Rows already there are kept: a writer never truncates the files. ``keep_until_epoch`` (used by
    ``--resume``) drops the rows written after the checkpoint's epoch, so a resumed run does not list
    an epoch twice; the files are then rewritten whole or not at all.
    """

    def __init__(self, folder, keep_until_epoch: int | None = None):
        os.makedirs(folder, exist_ok=True)
        self.jsonl_path = os.path.join(folder, "metrics.jsonl")
        self.csv_path = os.path.join(folder, "metrics.csv")
        self.rows = read_metrics(self.jsonl_path)
        self.columns = list(self.rows[0]) if self.rows else None
        if keep_until_epoch is not None and any(r.get("epoch", 0) > keep_until_epoch for r in self.rows):
            self.rows = [r for r in self.rows if r.get("epoch", 0) <= keep_until_epoch]
            with replace_atomically(self.jsonl_path, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r) + "\n" for r in self.rows)
            with replace_atomically(self.csv_path, "w", encoding="utf-8", newline="") as f:
                if self.columns:
                    writer = csv.DictWriter(f, fieldnames=self.columns)
                    writer.writeheader()
                    writer.writerows(self.rows)

    def write(self, row: dict) -> None:
        """Append one row; every row must have the same columns as the first."""
        row = {k: _plain(v) for k, v in row.items()}
        if self.columns is None:
            self.columns = list(row)
        elif list(row) != self.columns:
            raise ValueError(f"metrics row has columns {list(row)}, expected {self.columns} "
                             "(every epoch must report the same quantities)")
        self.rows.append(row)
        with open(self.jsonl_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        with open(self.csv_path, "a", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns)
            if f.tell() == 0:
                writer.writeheader()
            writer.writerow(row)


def write_test_result(folder, result: dict) -> str:
    """Write ``<folder>/test.json``, the test-set figures of a run with ``--holdout``; returns its path.

    Written to a temporary file and renamed, so a reader never sees half of it.
    """
    path = os.path.join(folder, "test.json")
    with replace_atomically(path, "w", encoding="utf-8") as f:
        json.dump({k: _plain(v) for k, v in result.items()}, f, indent=1)
    return path


def _plain(value):
    """Python numbers for JSON (numpy scalars included); NaN and inf become None (JSON has neither)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
