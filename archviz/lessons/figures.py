"""The live figures a lesson may wait on and quote. Each app registers its own
(core/hooks.py register_live_figures), read from the state its pages show, in Redis."""

import redis

from archviz.core import hooks

Figure = float | int | str


def known() -> dict[str, str]:
    """Every figure's name and what it is, in words."""
    return {name: figure.says for name, (_source, figure) in sorted(hooks.live_figures().items())}


def read_figures(client: redis.Redis, names: set[str]) -> dict[str, Figure]:
    """The figures now, each source read once; raises redis.RedisError when Redis is away."""
    figures = hooks.live_figures()
    sources = {figures[name][0] for name in names}
    readings = {source: hooks.figure_source(source)(client) for source in sources}
    return {name: figures[name][1].read(readings[figures[name][0]]) for name in sorted(names)}
