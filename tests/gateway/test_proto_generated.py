"""The committed gRPC code is what bidding.proto generates: the two never drift."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTO = "archviz/gateway/proto/bidding.proto"
GENERATED = ("bidding_pb2.py", "bidding_pb2.pyi", "bidding_pb2_grpc.py")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bidding.proto compiled afresh, as `make proto` does, into a folder of its own."""
    out = tmp_path_factory.mktemp("proto")
    outputs = [f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}"]
    done = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I.", *outputs, PROTO],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return out / "archviz/gateway/proto"


@pytest.mark.parametrize("name", GENERATED)
def test_committed_code_is_what_the_proto_generates(regenerated: Path, name: str) -> None:
    """Each generated module is byte for byte what protoc makes now (else: `make proto`)."""
    committed = (ROOT / "archviz/gateway/proto" / name).read_text()
    assert committed == (regenerated / name).read_text(), f"{name} is stale: run `make proto`"


def test_the_grpc_module_imports_its_messages_from_the_package() -> None:
    """The stubs import bidding_pb2 by its package path, so no folder goes on sys.path."""
    text = (ROOT / "archviz/gateway/proto/bidding_pb2_grpc.py").read_text()
    assert "from archviz.gateway.proto import bidding_pb2" in text


def test_the_makefile_runs_the_same_command() -> None:
    """`make proto` is the command this test runs (and the module docstring shows)."""
    command = f"-m grpc_tools.protoc -I. --python_out=. --pyi_out=. --grpc_python_out=. {PROTO}"
    assert command in (ROOT / "Makefile").read_text()
