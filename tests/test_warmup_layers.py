"""pn.warmup() also compiles the recurrent step (by default) and the
convolution forwards (with conv=True): checked in fresh processes, by the
signatures Numba holds after warmup alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

NAMES = {"recurrent": ["_range", "_parallel"],
         "conv": ["_shared_range", "_shared_parallel", "_each_range",
                  "_each_parallel"]}


def _compiled_after(kwargs: str) -> dict[str, dict[str, int]]:
    code = textwrap.dedent(f"""
        import json
        import pyneat_lite as pn
        from pyneat_lite._kernels import conv, recurrent
        pn.warmup({kwargs})
        names = {NAMES!r}
        mods = {{"recurrent": recurrent, "conv": conv}}
        print(json.dumps({{m: {{n: len(getattr(mods[m], n).signatures) for n in ns}}
                          for m, ns in names.items()}}))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=900, env=dict(os.environ))
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kwargs, recurrent, conv", [
    ("", True, False),
    ("recurrent=False, conv=True", False, True),
])
def test_warmup_compiles_the_layer_kernels_asked_for(kwargs, recurrent, conv):
    got = _compiled_after(kwargs)
    assert all((n >= 1) == recurrent for n in got["recurrent"].values()), got
    assert all((n >= 1) == conv for n in got["conv"].values()), got
