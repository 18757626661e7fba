"""What the lab starts for its dashboards: one straight, or several behind the balancer."""

import pytest

from archviz.core import hooks
from archviz.lab.dashboards import DASHBOARD_ID, Dashboards, dashboard_ids

SERVICES = [
    hooks.Service("traffic", "traffic"),
    hooks.Service("lb", "balancer", port_setting="ARCHVIZ_LB_PORT", fronts_dashboards=True),
]


def test_one_dashboard_is_started_on_the_dashboard_port_with_nothing_in_front() -> None:
    dashboards = Dashboards(1, 8000, SERVICES)
    assert dashboards.to_start("127.0.0.1") == [(DASHBOARD_ID, "dashboard", 8000, ())]
    assert dashboards.front is None and dashboards.public_port is None
    assert dashboards.note() == ""


def test_several_go_on_free_ports_and_the_balancer_takes_the_dashboard_port(settings) -> None:
    """The balancer is started with them, its dashboards listener on the learners' port."""
    settings.ARCHVIZ_LB_PORT = 8100
    dashboards = Dashboards(3, 8000, SERVICES)
    assert dashboards.to_start("127.0.0.1") == [
        ("dashboard-1", "dashboard", 0, ()),
        ("dashboard-2", "dashboard", 0, ()),
        ("dashboard-3", "dashboard", 0, ()),
        ("lb", "balancer", 8100, ("--dashboards-port", "8000")),
    ]
    assert dashboards.public_port == 8000
    assert dashboards.note() == "3 dashboards behind the load balancer; "


def test_port_0_picks_a_free_port_for_the_listener(settings) -> None:
    settings.ARCHVIZ_LB_PORT = 0
    dashboards = Dashboards(2, 0, SERVICES)
    *_, (_, _, _, args) = dashboards.to_start("127.0.0.1")
    assert args[0] == "--dashboards-port" and int(args[1]) > 0
    assert dashboards.public_port == int(args[1])


def test_several_need_a_service_that_fronts_them() -> None:
    with pytest.raises(RuntimeError, match="needs the load balancer"):
        Dashboards(2, 8000, SERVICES[:1])


def test_ids() -> None:
    assert dashboard_ids(1) == ["dashboard"]
    assert dashboard_ids(2) == ["dashboard-1", "dashboard-2"]
