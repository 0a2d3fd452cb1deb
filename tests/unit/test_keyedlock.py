"""KeyedLocks: one holder per key at a time, and no lock left behind once everyone is done."""

from __future__ import annotations

import asyncio

import pytest

from gateway.keyedlock import KeyedLocks


async def test_one_holder_per_key_and_other_keys_run_beside_it() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    inside: list[str] = []
    most = 0
    release = asyncio.Event()

    async def work(key: str, tag: str) -> None:
        nonlocal most
        async with locks.hold(key):
            inside.append(tag)
            most = max(most, sum(1 for t in inside if t.startswith(key)))
            await release.wait()
            inside.remove(tag)

    tasks = [asyncio.create_task(work("a", f"a{i}")) for i in range(3)]
    tasks.append(asyncio.create_task(work("b", "b0")))
    for _ in range(5):
        await asyncio.sleep(0)
    assert sorted(inside) == ["a0", "b0"]  # a1 and a2 wait; b is not held up by a
    release.set()
    await asyncio.gather(*tasks)
    assert most == 1
    assert len(locks) == 0


async def test_a_failing_holder_leaves_no_lock_and_lets_the_next_one_in() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    with pytest.raises(RuntimeError):
        async with locks.hold("k"):
            raise RuntimeError("create failed")
    assert len(locks) == 0
    async with locks.hold("k"):
        assert len(locks) == 1
    assert len(locks) == 0


async def test_a_newcomer_queues_on_the_lock_a_waiter_still_holds() -> None:
    locks: KeyedLocks[str] = KeyedLocks()
    order: list[str] = []
    first_in = asyncio.Event()
    let_first_go = asyncio.Event()

    async def first() -> None:
        async with locks.hold("k"):
            order.append("first")
            first_in.set()
            await let_first_go.wait()

    async def later(tag: str) -> None:
        async with locks.hold("k"):
            order.append(tag)
            await asyncio.sleep(0)
            order.append(tag + " done")

    t1 = asyncio.create_task(first())
    await first_in.wait()
    t2 = asyncio.create_task(later("second"))
    await asyncio.sleep(0)
    let_first_go.set()
    await t1
    # The first holder is gone while the second still waits or holds: a third must queue.
    t3 = asyncio.create_task(later("third"))
    await asyncio.gather(t2, t3)
    assert order == ["first", "second", "second done", "third", "third done"]
    assert len(locks) == 0
