from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "archviz.dashboard"
    label = "dashboard"
    verbose_name = "Lab configuration"

    def ready(self) -> None:
        from archviz.core import hooks, labsocket
        from archviz.dashboard import figures, state
        from archviz.dashboard.models import desired_nodes

        labsocket.handlers_in("archviz.dashboard.socket")
        hooks.register_children(desired_nodes)
        hooks.register_live_figures("lab", state.read_lab_state, figures.FIGURES)
