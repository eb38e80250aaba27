"""Confluent's Python Kafka client (`confluent-kafka` on PyPI) against the topics of an
`eddy server --bootstrap-servers` on a real broker.

Driven by tests/tests/kafka_python_client.rs:

    kafka_round_trip.py BOOTSTRAP produce TOPIC < records
        produces a JSON list of {"key", "value", "timestamp", "headers": {name: text}} with
        the Java client's partitioner (murmur2_random) and prints one JSON line per record:
        {"partition", "offset"} in input order.
    kafka_round_trip.py BOOTSTRAP produce-avro TOPIC REGISTRY_URL < records
        the same, with values (JSON objects) serialized by AvroSerializer against the schema
        registry at REGISTRY_URL.
    kafka_round_trip.py BOOTSTRAP consume TOPIC COUNT
        reads COUNT records from the start of TOPIC with isolation.level=read_committed and
        prints one JSON line per record: {"key": hex, "value": text, "partition", "offset",
        "timestamp", "timestamp_type", "headers": [[name, hex], ...]}.
"""

import json
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer

# Fields of the Avro values of `produce-avro`.
ORDER_SCHEMA = json.dumps({
    "type": "record",
    "name": "Order",
    "namespace": "io.example",
    "fields": [
        {"name": "ITEM", "type": "string"},
        {"name": "QTY", "type": "int"},
    ],
})

CONSUME_TIMEOUT_SECONDS = 60


def produce(bootstrap, topic, records, serialize):
    producer = Producer({
        "bootstrap.servers": bootstrap,
        # librdkafka's default is consistent_random (CRC32); the Java client hashes with murmur2.
        "partitioner": "murmur2_random",
        "acks": "all",
        "enable.idempotence": True,
    })
    delivered = [None] * len(records)

    def on_delivery(index):
        def report(error, message):
            if error is not None:
                raise KafkaException(error)
            delivered[index] = {"partition": message.partition(), "offset": message.offset()}
        return report

    for index, record in enumerate(records):
        producer.produce(
            topic,
            key=record["key"].encode("utf-8"),
            value=serialize(record["value"]),
            timestamp=record["timestamp"],
            headers=[(name, text.encode("utf-8")) for name, text in record["headers"].items()],
            on_delivery=on_delivery(index),
        )
        producer.poll(0)
    left = producer.flush(30)
    if left:
        raise SystemExit(f"{left} records were not delivered")
    for report in delivered:
        print(json.dumps(report))


def avro_serializer(registry_url, topic):
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    serializer = AvroSerializer(SchemaRegistryClient({"url": registry_url}), ORDER_SCHEMA)
    context = SerializationContext(topic, MessageField.VALUE)
    return lambda value: serializer(value, context)


def consume(bootstrap, topic, count):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"kafka-round-trip-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    })
    consumer.subscribe([topic])
    deadline = time.monotonic() + CONSUME_TIMEOUT_SECONDS
    read = 0
    try:
        while read < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"read {read} of {count} records of {topic} "
                                 f"within {CONSUME_TIMEOUT_SECONDS}s")
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error() is not None:
                raise KafkaException(message.error())
            timestamp_type, timestamp = message.timestamp()
            print(json.dumps({
                "key": (message.key() or b"").hex(),
                "value": (message.value() or b"").decode("utf-8"),
                "partition": message.partition(),
                "offset": message.offset(),
                "timestamp": timestamp,
                "timestamp_type": timestamp_type,
                "headers": [[name, (value or b"").hex()]
                            for name, value in (message.headers() or [])],
            }))
            read += 1
    finally:
        consumer.close()


def main():
    bootstrap, mode, topic = sys.argv[1:4]
    if mode == "produce":
        produce(bootstrap, topic, json.load(sys.stdin), lambda value: value.encode("utf-8"))
    elif mode == "produce-avro":
        produce(bootstrap, topic, json.load(sys.stdin), avro_serializer(sys.argv[4], topic))
    elif mode == "consume":
        consume(bootstrap, topic, int(sys.argv[4]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
