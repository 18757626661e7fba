"""The worker node: the demos' server side, one OS process per node."""
