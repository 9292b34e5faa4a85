"""Pure parts of the request economy: the body cache's resourceVersion ordering, when a watch event
needs a decision, and distinct peering priorities for identical HA replicas."""

from __future__ import annotations

from modelops.kube.bodies import BodyCache, newer
from modelops.kube.runtime import spec_unobserved
from modelops.kube.settings import peering_priority


def body(rv: str, generation: int = 1, observed: int | None = None, uid: str = "u1") -> dict:
    status = {} if observed is None else {"observedGeneration": observed}
    return {"metadata": {"namespace": "ml", "name": "churn", "uid": uid, "resourceVersion": rv,
                         "generation": generation}, "status": status}


def test_a_stale_watch_event_never_replaces_our_newer_status_write() -> None:
    cache = BodyCache()
    added = body("100")
    assert cache.offer(added) is added
    ours = body("105", observed=1)  # the answer to our status patch
    assert cache.offer(ours) is ours
    # the watch now delivers the ADDED event's successor written before ours: it must lose
    assert cache.offer(body("103")) is ours
    assert cache.get(("ml", "churn")) is ours
    newer_event = body("110", generation=2, observed=1)
    assert cache.offer(newer_event) is newer_event


def test_ordering_compares_numbers_not_strings_and_a_recreated_object_wins() -> None:
    assert newer(body("1000"), body("999")) and not newer(body("999"), body("1000"))
    assert newer(body("5", uid="u2"), body("900", uid="u1"))  # deleted and re-created: new uid
    assert newer(body("abc"), body("100"))  # opaque versions: the later arrival wins
    cache = BodyCache()
    cache.offer(body("7"))
    cache.drop(("ml", "churn"))
    assert cache.get(("ml", "churn")) is None and len(cache) == 0


def test_only_an_unobserved_generation_needs_a_decision() -> None:
    assert spec_unobserved(body("1"))  # just created: no status yet
    assert not spec_unobserved(body("2", observed=1))  # our own status write echoed back
    assert spec_unobserved(body("3", generation=2, observed=1))  # a spec edit


def test_replicas_get_distinct_priorities_and_the_oldest_is_active() -> None:
    older = peering_priority(None, started=1_800_000_000.000, identity="pod-a")
    younger = peering_priority(None, started=1_800_000_000.001, identity="pod-a")
    assert older > younger
    same_ms = {peering_priority(None, started=1_800_000_000.0, identity=f"pod-{i}") for i in "abcdef"}
    assert len(same_ms) > 1  # same millisecond: the pod name breaks the tie
    assert peering_priority(7) == 7
    assert older < 2**53  # kopf stores it in JSON; stays exact in any JSON reader
