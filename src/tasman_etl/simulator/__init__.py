"""Simulated USAJOBS API: a seeded synthetic job universe served over real HTTP, with faults.

Used by ``tasman-etl run --demo``, ``tasman-etl simulator``, tests and benchmarks::

    from tasman_etl.simulator import FaultPlan, SimulatorConfig, SimulatorServer

    with SimulatorServer(SimulatorConfig(jobs=300, seed=42)) as sim:
        base_url = sim.base_url                      # http://127.0.0.1:PORT
        truth = sim.matching({"Keyword": "data engineering",
                              "LocationName": "Chicago, Illinois", "Radius": "50"})
        sim.faults = FaultPlan(by_request={2: "429"})

All data is synthetic, generated from the seed; the same config gives byte-identical
response bodies for the same request.
"""

from __future__ import annotations

from tasman_etl.simulator.config import FAULT_KINDS, FaultPlan, SimulatorConfig
from tasman_etl.simulator.data import ItemsView, Universe, demo_params
from tasman_etl.simulator.search import RESULT_CAP, page_window
from tasman_etl.simulator.server import CONTENT_TYPE, RequestRecord, SimulatorServer, serve

__all__ = [
    "CONTENT_TYPE",
    "FAULT_KINDS",
    "RESULT_CAP",
    "FaultPlan",
    "ItemsView",
    "RequestRecord",
    "SimulatorConfig",
    "SimulatorServer",
    "Universe",
    "demo_params",
    "page_window",
    "serve",
]
