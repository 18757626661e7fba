from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "archviz.chat"
    label = "chat"
    verbose_name = "Chat demo"

    def ready(self) -> None:
        from archviz.chat import control, figures, layers, view
        from archviz.core import hooks, labsocket

        labsocket.handlers_in("archviz.chat.socket")
        control.register()
        hooks.register_node_routes(hooks.NodeRoutes(websocket_urls="archviz.chat.routing"))
        hooks.register_node_start(layers.configure_layers)
        hooks.register_service(hooks.Service("chatbots", "chatbots"))
        hooks.register_live_figures("chat", view.read_chat_view, figures.FIGURES)
