from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class PlaceBidRequest(_message.Message):
    __slots__ = ("auction_id", "bidder", "amount_cents", "request_id", "trace_id")
    AUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    BIDDER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CENTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    auction_id: str
    bidder: str
    amount_cents: int
    request_id: str
    trace_id: str
    def __init__(self, auction_id: _Optional[str] = ..., bidder: _Optional[str] = ..., amount_cents: _Optional[int] = ..., request_id: _Optional[str] = ..., trace_id: _Optional[str] = ...) -> None: ...

class PlaceBidReply(_message.Message):
    __slots__ = ("accepted", "seq", "highest_cents", "highest_bidder", "ends_at_ms", "closed", "replayed")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_CENTS_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_BIDDER_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    seq: int
    highest_cents: int
    highest_bidder: str
    ends_at_ms: int
    closed: bool
    replayed: bool
    def __init__(self, accepted: _Optional[bool] = ..., seq: _Optional[int] = ..., highest_cents: _Optional[int] = ..., highest_bidder: _Optional[str] = ..., ends_at_ms: _Optional[int] = ..., closed: _Optional[bool] = ..., replayed: _Optional[bool] = ...) -> None: ...

class GetAuctionRequest(_message.Message):
    __slots__ = ("auction_id",)
    AUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    auction_id: str
    def __init__(self, auction_id: _Optional[str] = ...) -> None: ...

class AuctionState(_message.Message):
    __slots__ = ("auction_id", "title", "start_cents", "highest_cents", "highest_bidder", "seq", "ends_at_ms", "closed", "winner")
    AUCTION_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    START_CENTS_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_CENTS_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_BIDDER_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    WINNER_FIELD_NUMBER: _ClassVar[int]
    auction_id: str
    title: str
    start_cents: int
    highest_cents: int
    highest_bidder: str
    seq: int
    ends_at_ms: int
    closed: bool
    winner: str
    def __init__(self, auction_id: _Optional[str] = ..., title: _Optional[str] = ..., start_cents: _Optional[int] = ..., highest_cents: _Optional[int] = ..., highest_bidder: _Optional[str] = ..., seq: _Optional[int] = ..., ends_at_ms: _Optional[int] = ..., closed: _Optional[bool] = ..., winner: _Optional[str] = ...) -> None: ...
