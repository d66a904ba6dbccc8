"""How tests/data/mnist-1000 was made (run from the repository root).

The first 1,000 images and labels of the real MNIST test split
(``t10k-*-ubyte.gz``, LeCun, Cortes and Burges; md5 of the uncompressed full
files: images 2646ac647ad5339dbf082846283269ea, labels
27ae3e4e09519cfbb04c329615203637), re-written unchanged as IDX files with
their header counts set to 1,000, gzip-compressed with mtime=0 so that the
bytes are reproducible::

    python tests/data/make_mnist_subset.py ../shared/data/mnist tests/data/mnist-1000
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

N = 1000


def main(src: str, dst: str) -> None:
    src_dir, dst_dir = Path(src), Path(dst)
    dst_dir.mkdir(parents=True, exist_ok=True)
    for stem, header_len, item in (
        ("t10k-images-idx3-ubyte", 16, 28 * 28),
        ("t10k-labels-idx1-ubyte", 8, 1),
    ):
        data = gzip.decompress((src_dir / (stem + ".gz")).read_bytes())
        header = bytearray(data[:header_len])
        header[4:8] = N.to_bytes(4, "big")
        payload = data[header_len : header_len + N * item]
        with open(dst_dir / (stem + ".gz"), "wb") as raw, gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, mtime=0
        ) as f:
            f.write(bytes(header) + payload)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
