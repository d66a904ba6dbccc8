"""Nothing left behind (issue 15): a save killed mid-write leaves its
temporary file; the next save of the same checkpoint removes it, but never
the file of a save still in progress, nor another checkpoint's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

import pyneat_lite as pn

# A save that writes part of the file, says so, then hangs until killed.
_CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    import pyneat_lite as pn

    def hang(fh, **arrays):
        fh.write(b"PK partial checkpoint")
        fh.flush()
        print("writing", flush=True)
        time.sleep(600)

    np.savez = hang
    pn.GA(n_params=4, pop_size=8, seed=0).save(sys.argv[1])
""")


def _temps(directory, base="run.ckpt"):
    return sorted(n for n in os.listdir(directory)
                  if n.startswith(f".{base}.ckpt-") and n.endswith(".tmp"))


def _ga():
    ga = pn.GA(n_params=4, pop_size=8, seed=1)
    ga.tell(-np.sum(ga.ask() ** 2, axis=1))
    return ga


def test_killed_save_is_cleaned_on_next_save_not_while_alive(tmp_path):
    path = tmp_path / "run.ckpt"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        [orphan] = _temps(tmp_path)
        ga = _ga()
        ga.save(path)  # the child is alive and holds its lock: kept
        assert _temps(tmp_path) == [orphan]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    assert _temps(tmp_path) == [orphan]  # kill -9 left it behind
    # unrelated files beside it survive: another checkpoint's temporary
    # file, a fresh file of the old unattributed form, a user's .tmp
    other = tmp_path / ".other.ckpt.ckpt-abcd1234.tmp"
    fresh_legacy = tmp_path / ".ckpt-fresh123.tmp"
    old_legacy = tmp_path / ".ckpt-old12345.tmp"
    mine = tmp_path / "notes.tmp"
    for f in (other, fresh_legacy, old_legacy, mine):
        f.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(old_legacy, (two_hours_ago, two_hours_ago))
    ga.save(path)
    assert _temps(tmp_path) == []
    assert other.exists() and fresh_legacy.exists() and mine.exists()
    assert not old_legacy.exists()
    loaded = pn.load(path)
    np.testing.assert_array_equal(loaded.ask(), ga.ask())


def test_planted_orphan_is_removed_and_save_leaves_no_temp_file(tmp_path):
    path = tmp_path / "run.ckpt"
    orphan = tmp_path / ".run.ckpt.ckpt-zz9plural.tmp"
    orphan.write_bytes(b"PK half a checkpoint")
    _ga().save(path)
    assert not orphan.exists()
    assert sorted(os.listdir(tmp_path)) == ["run.ckpt"]
