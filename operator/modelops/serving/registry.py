"""Which model versions exist, their TF Serving states, and config reloads as ServerCore does them.

`reload` is ServerCore::ReloadConfig (model_servers/server_core.cc): the label map is decided
first (serving/labels.py; a refusal changes nothing), then each model's policy names the versions
it aspires to (serving/versions.py) and the missing ones start loading in the background. Old
versions leave as AvailabilityPreservingPolicy (core/availability_preserving_policy.cc) unloads
them: only once an aspired version is AVAILABLE (or none is aspired), so a switch fails no
request; a request already routed keeps its reference and finishes. Every version ever seen keeps
its last state, END included, with the load error if it failed (ServableStateMonitor keeps END
states; get_model_status_impl.cc reports them). `reload` waits only for models new to the server
(ServerCore::WaitUntilModelsAvailable); versions of a known model load after it returned.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol

from modelops.serving.config import ServedModel
from modelops.serving.errors import ServingError, invalid, not_found
from modelops.serving.labels import LabelMap, LabelOptions, updated_label_map
from modelops.serving.servable import LoadedModel, Signature, load_version
from modelops.serving.versions import BasePathMissing, aspired_versions

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
Loader = Callable[[str, int], LoadedModel]  # (version directory, version)


@dataclass(frozen=True)
class LoadOptions:
    """TF Serving's --max_num_load_retries (5) and --load_retry_interval_micros (1 min): a failed
    load is retried, in state LOADING, before it ends END (core/loader_harness.cc LoadWithRetries)."""

    max_num_load_retries: int = 5
    load_retry_interval_seconds: float = 60.0


@dataclass(eq=False)
class ServableVersion:
    """One version of one model as the status API reports it; `model` is set once loaded."""

    model_name: str
    version: int
    base_path: str  # the version's own directory (TF Serving may load `00017` as version 17)
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
    served: ServedModel | None  # None: no longer in the config (its versions stay, END)
    versions: dict[int, ServableVersion] = field(default_factory=dict)
    aspired: dict[int, str] = field(default_factory=dict)  # version -> directory
    first_settled: asyncio.Future[ServableVersion] | None = None


class ModelRegistry:
    """The live routing table; mutated only on the event loop."""

    def __init__(
        self,
        runner_factory: RunnerFactory,
        load_executor: Executor,
        loader: Loader = load_version,
        on_state: Callable[[ServableVersion], None] | None = None,
        label_options: LabelOptions | None = None,
        load_options: LoadOptions | None = None,
    ) -> None:
        self._runner_factory = runner_factory
        self._load_executor = load_executor
        self._loader = loader
        self._on_state = on_state or (lambda servable: None)
        self.label_options = label_options or LabelOptions()
        self.load_options = load_options or LoadOptions()
        self._models: dict[str, _ModelEntry] = {}
        self._labels: LabelMap = {}
        self._lock = asyncio.Lock()
        self._first_config = True
        self._tasks: set[asyncio.Task[None]] = set()
        self._loading: set[asyncio.Task[None]] = set()

    # ---- lookups (synchronous: resolve + submit happen in one event-loop step) ----

    def status(self, name: str, version: int | None = None, label: str | None = None) -> list[ServableVersion]:
        """get_model_status_impl.cc: one version (NOT_FOUND if never seen) or all, highest first.
        A label alone does not narrow it: GetModelStatusWithModelSpec only looks at `version`."""
        entry = self._models.get(name)
        versions = entry.versions if entry is not None else {}
        if version is not None:
            found = versions.get(version)
            if found is None:
                raise not_found(f"Could not find version {version} of model {name}")
            return [found]
        if not versions:
            raise not_found(f"Could not find any versions of model {name}")
        return [versions[v] for v in sorted(versions, reverse=True)]

    def resolve(self, name: str, version: int | None = None, label: str | None = None) -> ServableVersion:
        """The AVAILABLE version a request should use, with TF Serving's errors: an unknown label
        is INVALID_ARGUMENT (server_core.cc GetModelVersionForLabel); any version not AVAILABLE,
        loading or failed, is NOT_FOUND "Servable not found for request: Specific(name, v)" /
        "Latest(name)" (core/basic_manager.cc: only AVAILABLE versions are in the serving map)."""
        if not name:
            raise invalid("ModelSpec has no name specified.")  # server_core.cc ServableRequestFromModelSpec
        entry = self._models.get(name)
        if label is not None:
            version = self._labels.get(name, {}).get(label)
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

    def labels(self, name: str) -> dict[str, int]:
        return dict(self._labels.get(name, {}))

    def model_names(self) -> list[str]:
        return sorted(name for name, entry in self._models.items() if entry.served is not None)

    def has_model(self, name: str) -> bool:
        entry = self._models.get(name)
        return entry is not None and (entry.served is not None or any(
            s.state is VersionState.AVAILABLE for s in entry.versions.values()))

    def _entry(self, name: str) -> _ModelEntry:
        entry = self._models.get(name)
        if entry is None:
            raise not_found(f"Servable not found for request: Latest({name})")
        return entry

    # ---- config reloads ----

    async def reload(self, models: Sequence[ServedModel]) -> None:
        """ServerCore::ReloadConfig from its label step on: refuse (nothing changed), or install the
        labels, aspire the policies' versions and wait until every model new to the server has its
        first version AVAILABLE; UNKNOWN "N model(s) did not become available" if it ended END."""
        async with self._lock:
            available = self._is_available
            self._labels = updated_label_map(models, available, self._labels, self.label_options)
            # the first config awaits with load_servables_fast.cc's words, later ones server_core.cc's
            what, self._first_config = ("servable(s)" if self._first_config else "model(s)"), False
            waiting: list[asyncio.Future[ServableVersion]] = []
            wanted = {model.name: model for model in models}
            for name, entry in self._models.items():
                if name not in wanted:
                    entry.served = None
            for model in models:
                entry = self._models.get(model.name)
                if entry is None or entry.served is None:
                    entry = entry or self._models.setdefault(model.name, _ModelEntry(served=model))
                    entry.first_settled = asyncio.get_running_loop().create_future()
                    waiting.append(entry.first_settled)
                entry.served = model
            self._converge()
        if waiting:
            settled = await asyncio.gather(*waiting)
            failed = [s for s in settled if s.state is not VersionState.AVAILABLE]
            if failed:
                details = "".join(
                    f"{{name: {s.model_name} version: {s.version}}}"
                    + (f" due to error: {s.error_code}: {s.error_message}" if s.error_message else "") + ", "
                    for s in failed
                )
                raise ServingError("UNKNOWN", f"{len(failed)} {what} did not become available: {{{details}}}")

    async def apply(self, models: Sequence[ServedModel]) -> None:
        """Embedding and tests: TF Serving's two-step label workflow in one call — reload without
        labels, wait for every aspired version to settle, then reload with the labels (which are
        still checked as ReloadConfig checks them). A version that fails to load is not an error
        here: its END status says so."""
        def serving_labels(name: str) -> dict[str, int]:  # step 1 keeps labels that still serve
            return {label: v for label, v in self._labels.get(name, {}).items() if self._is_available(name, v)}

        unlabelled = [ServedModel(m.name, m.base_path, m.versions, serving_labels(m.name), m.version_policy)
                      for m in models]
        try:
            await self.reload(unlabelled)
        except ServingError as exc:
            if exc.code != "UNKNOWN":
                raise
        await self.settle()
        await self.reload(models)

    async def refresh(self) -> None:
        """The file-system poll (--file_system_poll_wait_seconds): re-read every model's versions."""
        async with self._lock:
            self._converge()

    async def settle(self) -> None:
        """Wait until no load or unload is in flight (tests, start-up logging)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Unload everything; loads still running or waiting to retry are abandoned."""
        async with self._lock:
            for task in self._loading:
                task.cancel()
            await asyncio.gather(*self._loading, return_exceptions=True)
            for entry in self._models.values():
                entry.served = None
            self._converge()
        await self.settle()

    def _is_available(self, name: str, version: int) -> bool:
        entry = self._models.get(name)
        servable = entry.versions.get(version) if entry else None
        return servable is not None and servable.state is VersionState.AVAILABLE

    def _converge(self) -> None:
        """One synchronous step: new aspired sets in, loads started, retirable versions out."""
        for name, entry in self._models.items():
            previous = entry.aspired
            if entry.served is None:
                entry.aspired = {}
            else:
                try:
                    entry.aspired = aspired_versions(entry.served)
                except BasePathMissing as exc:  # the poll keeps what it had
                    log.error("Could not find base path %s for servable %s", exc, entry.served.name)
            for version in sorted(entry.aspired, reverse=True):  # highest first, as the policy loads
                current = entry.versions.get(version)
                # a version that failed stays END while it stays aspired; re-aspired after leaving, it loads again
                if current is not None and (current.state is not VersionState.END or version in previous):
                    continue
                servable = ServableVersion(name, version, entry.aspired[version], VersionState.START)
                entry.versions[version] = servable
                self._loading.add(self._spawn(self._load(entry, servable)))
            self._retire(entry)

    def _retire(self, entry: _ModelEntry) -> None:
        """AvailabilityPreservingPolicy::GetNextAction, repeated: unload the lowest un-aspired
        AVAILABLE version when nothing is aspired, an aspired version is AVAILABLE, or more than
        one un-aspired version is AVAILABLE."""
        while True:
            aspired = [entry.versions[v] for v in entry.aspired if v in entry.versions]
            serving = any(s.state is VersionState.AVAILABLE for s in aspired)
            unaspired = sorted(v for v, s in entry.versions.items()
                               if v not in entry.aspired and s.state is VersionState.AVAILABLE)
            if not unaspired or not (not entry.aspired or serving or len(unaspired) > 1):
                return
            servable = entry.versions[unaspired[0]]
            servable.state = VersionState.UNLOADING
            self._on_state(servable)
            self._spawn(self._unload(servable))

    def _spawn(self, coroutine: Any) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(self._loading.discard)
        return task

    async def _load(self, entry: _ModelEntry, servable: ServableVersion) -> None:
        loop = asyncio.get_running_loop()
        servable.state = VersionState.LOADING
        self._on_state(servable)
        retries = self.load_options.max_num_load_retries
        for attempt in range(retries + 1):
            try:
                if entry.served is None:
                    raise ServingError("CANCELLED", "the server is shutting down")
                model = await loop.run_in_executor(
                    self._load_executor, self._loader, servable.base_path, servable.version
                )
                servable.runners = {
                    name: self._runner_factory(servable.model_name, servable.version, signature)
                    for name, signature in model.signatures.items()
                }
                servable.model = model
                servable.state = VersionState.AVAILABLE
                log.info("Successfully loaded servable version {name: %s version: %d}",
                         servable.model_name, servable.version)
                break
            except Exception as exc:
                code = exc.code if isinstance(exc, ServingError) else "UNKNOWN"
                servable.error_code, servable.error_message = code, str(exc)
                if attempt < retries and servable.version in entry.aspired:
                    log.warning("Loading servable {name: %s version: %d} failed, retrying: %s",
                                servable.model_name, servable.version, exc)
                    await asyncio.sleep(self.load_options.load_retry_interval_seconds)
                    continue
                servable.state = VersionState.END
                log.error("Loading servable {name: %s version: %d} failed: %s",
                          servable.model_name, servable.version, exc)
        self._on_state(servable)
        if entry.first_settled is not None and not entry.first_settled.done():
            entry.first_settled.set_result(servable)
        self._retire(entry)

    async def _unload(self, servable: ServableVersion) -> None:
        for runner in servable.runners.values():
            await runner.close()
        servable.state = VersionState.END
        servable.runners, servable.model = {}, None
        log.info("Unloaded servable version {name: %s version: %d}", servable.model_name, servable.version)
        self._on_state(servable)
