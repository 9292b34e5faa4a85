"""Which model versions exist, their TF Serving states, and atomic switches between configs.

A new config is applied as TF Serving's availability-preserving policy does: load the new versions
first, then switch routing (versions and labels) in one step on the event loop, then drain and
unload the old ones. Requests already routed to an old version keep a reference to it and finish,
so a switch fails no request. A label resolves only to an AVAILABLE version; a version that fails
to load is END with its error and never affects the others.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol

from modelops.serving.config import ServedModel
from modelops.serving.errors import ServingError, invalid, not_found
from modelops.serving.servable import LoadedModel, Signature, list_versions, load_version

log = logging.getLogger(__name__)


class VersionState(enum.StrEnum):
    START = "START"
    LOADING = "LOADING"
    AVAILABLE = "AVAILABLE"
    UNLOADING = "UNLOADING"
    END = "END"


class Runner(Protocol):
    async def submit(self, inputs: Any, timeout: float) -> Any: ...
    async def close(self) -> None: ...


RunnerFactory = Callable[[str, int, Signature], Runner]
Loader = Callable[[str, int], LoadedModel]


@dataclass(eq=False)
class ServableVersion:
    """One version of one model as the status API reports it; `model` is set once loaded."""

    model_name: str
    version: int
    base_path: str
    state: VersionState = VersionState.START
    error_code: str = "OK"
    error_message: str = ""
    model: LoadedModel | None = None
    runners: dict[str, Runner] = field(default_factory=dict)

    def runner(self, signature_name: str) -> tuple[Signature, Runner]:
        assert self.model is not None
        signature = self.model.signature(signature_name)
        return signature, self.runners[signature.name]


@dataclass
class _ModelEntry:
    served: ServedModel
    versions: dict[int, ServableVersion] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)


class ModelRegistry:
    """The live routing table; mutated only on the event loop, by `apply`."""

    def __init__(
        self,
        runner_factory: RunnerFactory,
        load_executor: Executor,
        loader: Loader = load_version,
        on_state: Callable[[ServableVersion], None] | None = None,
    ) -> None:
        self._runner_factory = runner_factory
        self._load_executor = load_executor
        self._loader = loader
        self._on_state = on_state or (lambda servable: None)
        self._models: dict[str, _ModelEntry] = {}
        self._apply_lock = asyncio.Lock()

    # ---- lookups (synchronous: resolve + submit happen in one event-loop step) ----

    def status(self, name: str, version: int | None = None, label: str | None = None) -> list[ServableVersion]:
        entry = self._entry(name)
        if label is not None:
            return [self.resolve(name, label=label)]
        if version is not None:
            found = entry.versions.get(version)
            if found is None:
                raise not_found(f"Could not find version {version} of model {name}")
            return [found]
        if not entry.versions:
            raise not_found(f"Could not find any versions of model {name}")
        return [entry.versions[v] for v in sorted(entry.versions, reverse=True)]

    def resolve(self, name: str, version: int | None = None, label: str | None = None) -> ServableVersion:
        """The AVAILABLE version a request should use, with TF Serving's errors: an unknown label
        is INVALID_ARGUMENT (server_core.cc GetModelVersionForLabel); any version not AVAILABLE,
        loading or failed, is NOT_FOUND "Servable not found for request: Specific(name, v)" /
        "Latest(name)" (core/basic_manager.cc: only AVAILABLE versions are in the serving map)."""
        if not name:
            raise invalid("ModelSpec has no name specified.")  # server_core.cc ServableRequestFromModelSpec
        entry = self._models.get(name)
        if label is not None:
            version = entry.labels.get(label) if entry is not None else None
            if version is None:
                raise invalid(f"Unrecognized servable version label: {label}")
        if version is not None:
            servable = entry.versions.get(version) if entry is not None else None
            if servable is None or servable.state is not VersionState.AVAILABLE:
                raise not_found(f"Servable not found for request: Specific({name}, {version})")
            return servable
        available = [v for v, s in entry.versions.items() if s.state is VersionState.AVAILABLE] if entry else []
        if not available:
            raise not_found(f"Servable not found for request: Latest({name})")
        return entry.versions[max(available)]

    def model_names(self) -> list[str]:
        return sorted(self._models)

    def has_model(self, name: str) -> bool:
        return name in self._models

    def _entry(self, name: str) -> _ModelEntry:
        entry = self._models.get(name)
        if entry is None:
            raise not_found(f"Servable not found for request: Latest({name})")
        return entry

    # ---- config switches ----

    async def apply(self, models: Sequence[ServedModel]) -> None:
        """Make the served set equal `models`: load new, switch, then unload old (never fewer
        AVAILABLE versions than necessary in between)."""
        async with self._apply_lock:
            wanted = {model.name: (model, self._wanted_versions(model)) for model in models}
            loading = self._start_loading(wanted)
            if loading:
                await asyncio.gather(*(self._load(servable) for servable in loading))
            retired = self._switch(wanted, loading)
            for servable in retired:
                await self._unload(servable)

    async def close(self) -> None:
        await self.apply([])

    def _wanted_versions(self, model: ServedModel) -> tuple[int, ...]:
        if model.versions:
            return model.versions
        # no specific policy: the newest complete SavedModel on disk, as TF Serving's latest policy;
        # a directory still being written (no saved_model.pb yet) must not replace a working version
        complete = [v for v in list_versions(model.base_path) if _has_saved_model(model.base_path, v)]
        return (complete[-1],) if complete else ()

    def _start_loading(self, wanted: dict[str, tuple[ServedModel, tuple[int, ...]]]) -> list[ServableVersion]:
        loading = []
        for name, (model, versions) in wanted.items():
            entry = self._models.setdefault(name, _ModelEntry(served=model))
            for version in versions:
                current = entry.versions.get(version)
                if current is not None and not self._should_reload(current, model):
                    continue
                servable = ServableVersion(name, version, model.base_path, VersionState.LOADING)
                if current is None:  # a replaced version keeps serving until the switch
                    entry.versions[version] = servable
                loading.append(servable)
        return loading

    @staticmethod
    def _should_reload(current: ServableVersion, model: ServedModel) -> bool:
        if current.base_path != model.base_path:
            return True
        # a version whose SavedModel was missing is retried once it has appeared
        return (
            current.state is VersionState.END
            and current.error_code == "NOT_FOUND"
            and _has_saved_model(current.base_path, current.version)
        )

    async def _load(self, servable: ServableVersion) -> None:
        loop = asyncio.get_running_loop()
        try:
            model = await loop.run_in_executor(
                self._load_executor, self._loader, servable.base_path, servable.version
            )
            servable.runners = {
                name: self._runner_factory(servable.model_name, servable.version, signature)
                for name, signature in model.signatures.items()
            }
            servable.model = model
            servable.state = VersionState.AVAILABLE
            log.info("model %s version %d is AVAILABLE", servable.model_name, servable.version)
        except Exception as exc:
            code = exc.code if isinstance(exc, ServingError) else "UNKNOWN"
            servable.state, servable.error_code, servable.error_message = VersionState.END, code, str(exc)
            log.error("model %s version %d failed to load: %s", servable.model_name, servable.version, exc)
        self._on_state(servable)

    def _switch(
        self, wanted: dict[str, tuple[ServedModel, tuple[int, ...]]], loaded: list[ServableVersion]
    ) -> list[ServableVersion]:
        """One synchronous step: new routing table in, retired versions out."""
        retired: list[ServableVersion] = []
        for servable in loaded:  # reloads (new base_path, directory appeared) replace the old entry
            entry = self._models.get(servable.model_name)
            previous = entry.versions.get(servable.version) if entry else None
            if entry is not None and previous is not servable:
                entry.versions[servable.version] = servable
                if previous is not None:
                    retired.append(previous)
        for name in list(self._models):
            entry = self._models[name]
            if name not in wanted:
                retired.extend(entry.versions.values())
                del self._models[name]
                continue
            model, versions = wanted[name]
            for version in list(entry.versions):
                if version not in versions:
                    retired.append(entry.versions.pop(version))
            entry.served = model
            entry.labels = dict(model.labels)
        return retired

    async def _unload(self, servable: ServableVersion) -> None:
        was_available = servable.state is VersionState.AVAILABLE
        servable.state = VersionState.UNLOADING
        for runner in servable.runners.values():
            await runner.close()
        servable.state = VersionState.END
        servable.runners, servable.model = {}, None
        if was_available:
            log.info("model %s version %d unloaded", servable.model_name, servable.version)
        self._on_state(servable)


def _has_saved_model(base_path: str, version: int) -> bool:
    return os.path.isfile(os.path.join(base_path, str(version), "saved_model.pb"))
