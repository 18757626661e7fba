from django.apps import AppConfig


class BalancerConfig(AppConfig):
    name = "archviz.balancer"
    label = "balancer"
    verbose_name = "Load balancer demo"

    def ready(self) -> None:
        from archviz.balancer import control
        from archviz.core import hooks, labsocket

        labsocket.handlers_in("archviz.balancer.socket")
        control.register()
        hooks.register_service(
            hooks.Service(
                "lb",
                "balancer",
                port_setting="ARCHVIZ_LB_PORT",
                # its gateway and services listeners'
                more_port_settings=("ARCHVIZ_GATEWAY_PORT", "ARCHVIZ_SERVICES_PORT"),
                fronts_dashboards=True,  # its dashboards listener, for ARCHVIZ_DASHBOARDS > 1
            )
        )
