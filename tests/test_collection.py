"""Pausing the garbage collector while masqctl builds what it keeps."""

from __future__ import annotations

import gc

from masqctl.collection import collection_paused, repeating


def test_a_pause_resumes_collection_and_one_inside_it_leaves_it_paused() -> None:
    assert gc.isenabled()
    with collection_paused():
        assert not gc.isenabled()
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_what_a_pause_made_is_frozen_except_while_rounds_repeat() -> None:
    gc.unfreeze()
    with repeating(), collection_paused():
        kept = [[] for _ in range(100)]
    assert gc.get_freeze_count() == 0
    with collection_paused():
        kept += [[] for _ in range(100)]
    assert gc.get_freeze_count() >= len(kept)
    gc.unfreeze()
