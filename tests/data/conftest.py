"""Fixtures for the data tests: files in the official formats, built in tmp_path, and a local HTTP server."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from tinyconv.data.fashion_mnist import write_idx

from data_builders import save_image


@pytest.fixture
def fashion_folder(tmp_path):
    """A folder with the four Fashion-MNIST IDX .gz files: 50 train and 20 test images."""
    rng = np.random.default_rng(1)
    for split, n in (("train", 50), ("t10k", 20)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return tmp_path


@pytest.fixture
def image_folder(tmp_path):
    """root/<class>/: 3 classes, JPEG and PNG files of different sizes; returns the root."""
    rng = np.random.default_rng(2)
    root = tmp_path / "images"
    for c, name in enumerate(("cat", "ant", "bee")):
        for i in range(c + 2):
            rgb = rng.integers(0, 256, (40 + 7 * i, 60 - 5 * c, 3), dtype=np.uint8)
            save_image(root / name / f"{i}.{'png' if i % 2 else 'jpg'}", rgb)
    (root / "ant" / "notes.txt").write_text("not an image")
    return root


class _Handler(BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):
        if self.path not in self.routes:
            self.send_error(404)
            return
        body, announced = self.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(announced))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True  # a short body then ends the response early

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    """Serve bytes on 127.0.0.1: ``add(path, body, announced=None) -> url``; ``announced`` fakes Content-Length."""
    handler = type("Handler", (_Handler,), {"routes": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()

    def add(path, body, announced=None):
        handler.routes[path] = (body, len(body) if announced is None else announced)
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    yield add
    server.shutdown()
    server.server_close()
    thread.join()
