"""Where data is looked for: the default folder, root handling, and the not-found message."""

import ast
from pathlib import Path

import pytest

import spikeforge.data
from spikeforge.data import DataNotFoundError, default_data_dir
from spikeforge.data._files import find_file, import_optional, resolve_root


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("SPIKEFORGE_DATA", str(tmp_path / "here"))
    assert default_data_dir() == tmp_path / "here"
    monkeypatch.delenv("SPIKEFORGE_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / ".cache" / "spikeforge"


def test_resolve_root(monkeypatch, tmp_path):
    monkeypatch.setenv("SPIKEFORGE_DATA", str(tmp_path))
    assert resolve_root(None) == tmp_path
    assert resolve_root(str(tmp_path / "a")) == tmp_path / "a"
    assert resolve_root("~/x") == Path.home() / "x"
    with pytest.raises(TypeError, match="root must be a path"):
        resolve_root(3)


def test_find_file_prefers_root_then_subfolders_then_names(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.gz").write_bytes(b"")
    (tmp_path / "a").write_bytes(b"")
    assert find_file(tmp_path, ["a.gz", "a"], ["sub"], dataset="X", expected="a") == tmp_path / "a"
    (tmp_path / "a").unlink()
    assert find_file(tmp_path, ["a.gz", "a"], ["sub"], dataset="X", expected="a") == tmp_path / "sub" / "a.gz"


def test_not_found_message(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        find_file(tmp_path, ["f.bin"], ["x"], dataset="Thing", expected="the f files")
    message = str(info.value)
    for part in ("Thing file 'f.bin' not found", str(tmp_path / "x"), "Expected the f files", "--data-dir"):
        assert part in message


def test_import_optional():
    assert import_optional("json", extra="none", needed_by="test").dumps([]) == "[]"
    with pytest.raises(ImportError, match=r"Thing needs the optional package 'no_such_pkg_xyz'.*spikeforge\[extra\]"):
        import_optional("no_such_pkg_xyz.sub", extra="extra", needed_by="Thing")


def test_optional_packages_are_not_imported_at_module_level():
    # scipy, sklearn and tonic are extras: only functions may import them (via import_optional)
    for path in Path(spikeforge.data.__file__).parent.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] in {"scipy", "sklearn", "tonic"} for n in names), (path, names)
