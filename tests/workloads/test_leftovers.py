"""Leftovers of killed or failed runs of earlier versions are swept when a new version trains (#26)."""

from __future__ import annotations

from pathlib import Path

from modelops.workloads.stages.leftovers import remove_leftovers


def test_leftovers_of_earlier_versions_go_and_the_live_versions_stay(tmp_path: Path) -> None:
    names = [".tmp-3-ab12cd34", ".tmp-3-ab12cd34-balanced", ".backup-3", ".deleting-1-0f0f0f0f",  # garbage
             ".deleting-9-00aa00aa",  # a prune's rename: garbage whatever its number
             ".tmp-5-ffffffff", ".backup-5", ".tmp-6-00000000",  # version 5 (training now) and later
             ".tuning-v3", "1", "2", ".backup-x"]  # a search a later version may reuse; versions; not ours
    for name in names:
        (tmp_path / name).mkdir()
    (tmp_path / ".tmp-2-file").write_text("a file, not a run's directory")
    removed = remove_leftovers(tmp_path, 5)
    assert sorted(removed) == sorted(names[:5])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names[5:], ".tmp-2-file"])
    assert remove_leftovers(tmp_path, 5) == []  # idempotent
