"""The message-queue demo: Redis Streams, a consumer group, at-least-once delivery."""
