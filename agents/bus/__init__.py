"""The event bus agents talk over: one protocol, an in-process and a NATS JetStream implementation."""
