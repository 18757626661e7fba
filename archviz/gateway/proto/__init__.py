"""The bidding service's contract, bidding.proto, and the code protoc generates from it.

The generated modules (bidding_pb2.py, bidding_pb2.pyi, bidding_pb2_grpc.py) are committed,
never edited by hand: after changing the .proto, regenerate them from the repository's root
with `make proto`, which runs

    .venv/bin/python -m grpc_tools.protoc -I. --python_out=. --pyi_out=. \
        --grpc_python_out=. archviz/gateway/proto/bidding.proto

Run from the root with -I., protoc names the file by its path in the package, so the
generated _grpc module imports `from archviz.gateway.proto import bidding_pb2` (not a bare
`import bidding_pb2`, which only works with the folder on sys.path).
tests/gateway/test_proto_generated.py regenerates them and fails if they drifted.
"""
