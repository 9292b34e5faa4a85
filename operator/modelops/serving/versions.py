"""Which version directories a model's policy aspires to, read from disk as TF Serving's
file-system source reads them (sources/storage_path/file_system_storage_path_source.cc).

- A child of base_path whose name parses as an int64 (absl::SimpleAtoi: optional sign and
  surrounding whitespace, so `00000123` is version 123) is a version; other names are ignored
  (FileSystemStoragePathSourceTest.SpecificVersionsLeadingZeros). Files count as well as
  directories: the source lists children, it does not stat them.
- Two names for one version (`001`, `0001`): the last in sorted order wins, with a warning
  (IndexChildrenByVersion; FileSystemStoragePathSourceTest.DuplicateVersions).
- `latest { num_versions: N }` aspires the N highest, `specific` the listed ones that exist (a
  missing one is logged and not aspired, so it does not appear in the status at all), `all` every one.
- A base_path that does not exist is an error for that model; the poll logs it and aspires nothing
  new (PollFileSystemForServable: "Could not find base path ...").
"""

from __future__ import annotations

import logging
import os

from modelops.serving.config import ServedModel

log = logging.getLogger(__name__)

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class BasePathMissing(Exception):
    """The model's base_path cannot be listed (TF Serving's poll reports it and keeps what it has)."""


def parse_version(name: str) -> int | None:
    """absl::SimpleAtoi for int64: the version a child name stands for, or None."""
    text = name.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isascii() or not digits.isdigit():
        return None
    value = int(text)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def children_by_version(base_path: str) -> dict[int, str]:
    """version -> child name under base_path; duplicates resolved as TF Serving does."""
    try:
        children = sorted(set(os.listdir(base_path)))
    except OSError as exc:  # missing, not a directory, unreadable: the poll reports it and goes on
        raise BasePathMissing(f"{base_path}: {exc.strerror}") from exc
    found: dict[int, str] = {}
    for child in children:
        version = parse_version(child)
        if version is None:
            continue
        if version in found:
            log.warning("Duplicate version directories detected. Version %d will be loaded from %s, "
                        "%s will be ignored.", version, child, found[version])
        found[version] = child
    return found


def aspired_versions(model: ServedModel) -> dict[int, str]:
    """version -> full path of every version the model's policy wants served now."""
    policy = model.version_policy
    found = children_by_version(model.base_path)
    if policy.kind == "specific":
        wanted = set(model.versions)
        for version in sorted(wanted - set(found)):
            log.warning("Version %d of servable %s, which was requested to be served as a 'specific' "
                        "version in the servable's version policy, was not found in the file system",
                        version, model.name)
        chosen = sorted(wanted & set(found))
    elif policy.kind == "all":
        chosen = sorted(found)
    else:
        chosen = sorted(found)[-max(policy.num_versions, 1):] if found else []
    if not found:
        log.warning("No versions of servable %s found under base path %s. Did you forget to name your "
                    "leaf directory as a number (eg. '/1/')?", model.name, model.base_path)
    return {version: os.path.join(model.base_path, found[version]) for version in chosen}
