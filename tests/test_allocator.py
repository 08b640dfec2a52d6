"""spikeforge._allocator: the huge-page default for torch's large CPU tensors."""

import os
import subprocess
import sys

from spikeforge import _allocator


def test_import_turns_huge_pages_on_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv(_allocator.VARIABLE, raising=False)
    assert _allocator.request_huge_pages() is True
    assert os.environ[_allocator.VARIABLE] == "1"
    monkeypatch.setenv(_allocator.VARIABLE, "0")
    assert _allocator.request_huge_pages() is False
    assert os.environ[_allocator.VARIABLE] == "0"  # the user's choice stands


def test_importing_spikeforge_sets_the_variable_before_torch_allocates():
    env = {k: v for k, v in os.environ.items() if k != _allocator.VARIABLE}
    code = "import os, spikeforge; print(os.environ.get('THP_MEM_ALLOC_ENABLE'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
