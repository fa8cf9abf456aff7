"""collector.paused(): the garbage collector off for bulk work, and always back as it was."""

import gc

import pytest

from ansible_collections.switchboard.pbx.plugins.module_utils import collector


@pytest.fixture(autouse=True)
def collector_on():
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_inside_and_on_again_after():
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_on_again_when_the_work_fails():
    with pytest.raises(ValueError):
        with collector.paused():
            raise ValueError("damaged row")
    assert gc.isenabled()


def test_a_pause_inside_a_pause_leaves_it_off_until_the_outer_one_ends():
    with collector.paused():
        with collector.paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off():
    gc.disable()
    with collector.paused():
        pass
    assert not gc.isenabled()
