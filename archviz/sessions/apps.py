from django.apps import AppConfig


class SessionsConfig(AppConfig):
    name = "archviz.sessions"
    label = "sessions_demo"  # "sessions" is django.contrib.sessions'
    verbose_name = "Sessions demo"

    def ready(self) -> None:
        from archviz.core import hooks, labsocket
        from archviz.sessions import control, follower, reads, switch

        labsocket.handlers_in("archviz.sessions.socket")
        control.register()
        hooks.register_node_routes(
            hooks.NodeRoutes(http_prefix="cart/", http_urls="archviz.sessions.node_urls")
        )
        hooks.register_node_start(follower.start_following)
        hooks.register_heartbeat_extra("cart_reads", reads.snapshot)
        hooks.register_live_figures(
            "sessions",
            switch.current_mode,
            {"sessions.mode": hooks.LiveFigure("where sessions are kept", lambda mode: mode)},
        )
