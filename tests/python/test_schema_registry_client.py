"""Confluent's Python Schema Registry client and Avro serializers against `eddy server`.

Driven by tests/tests/python_schema_registry.rs:

    test_schema_registry_client.py URL produce TOPIC
        registers the value schema of TOPIC through AvroSerializer, checks the client's
        registry calls, and prints {"id": N, "payloads": [hex, ...]} of serialized records.
    test_schema_registry_client.py URL consume TOPIC < payloads
        reads hex payloads (a JSON list on stdin), decodes them with AvroDeserializer (which
        fetches their schema by id) and prints the records as a JSON list.
"""

import json
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

USER_SCHEMA = json.dumps({
    "type": "record",
    "name": "User",
    "namespace": "io.example",
    "fields": [
        {"name": "ID", "type": "long"},
        {"name": "NAME", "type": "string"},
        {"name": "SCORE", "type": ["null", "double"], "default": None},
    ],
})

RECORDS = [
    {"ID": 1, "NAME": "ann", "SCORE": 1.5},
    {"ID": 2, "NAME": "bob", "SCORE": None},
]


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_error(call, status, code):
    try:
        call()
    except SchemaRegistryError as error:
        check(error.http_status_code == status and error.error_code == code,
              f"expected {status}/{code}, got {error.http_status_code}/{error.error_code}")
        return
    raise AssertionError(f"expected error {code}")


def produce(client, topic):
    serializer = AvroSerializer(client, USER_SCHEMA)
    context = SerializationContext(topic, MessageField.VALUE)
    payloads = [serializer(record, context).hex() for record in RECORDS]
    subject = f"{topic}-value"

    check(subject in client.get_subjects(), "the serializer registered the subject")
    latest = client.get_latest_version(subject)
    check(latest.version == 1 and latest.subject == subject, f"latest: {latest.version}")
    check(int.from_bytes(bytes.fromhex(payloads[0])[1:5], "big") == latest.schema_id,
          "payloads carry the registered id")
    check(client.get_version(subject, 1).schema_id == latest.schema_id, "version 1")
    check(client.get_versions(subject) == [1], "versions")
    found = client.lookup_schema(subject, Schema(USER_SCHEMA, "AVRO"))
    check(found.schema_id == latest.schema_id, "lookup")
    check(json.loads(client.get_schema(latest.schema_id).schema_str)["name"] == "User",
          "schema by id")

    # An evolution with a defaulted field is compatible; one without a default is not.
    evolved = json.loads(USER_SCHEMA)
    evolved["fields"].append({"name": "EMAIL", "type": ["null", "string"], "default": None})
    check(client.test_compatibility(subject, Schema(json.dumps(evolved), "AVRO")),
          "a defaulted field is BACKWARD compatible")
    broken = json.loads(USER_SCHEMA)
    broken["fields"].append({"name": "EMAIL", "type": "string"})
    check(not client.test_compatibility(subject, Schema(json.dumps(broken), "AVRO")),
          "a field without a default is not")
    expect_error(lambda: client.register_schema(subject, Schema(json.dumps(broken), "AVRO")),
                 409, 409)
    expect_error(lambda: client.get_version("nope-value", 1), 404, 40401)
    expect_error(lambda: client.get_version(subject, 9), 404, 40402)
    expect_error(lambda: client.get_schema(999), 404, 40403)
    expect_error(lambda: client.register_schema("bad-value", Schema("{bad", "AVRO")), 422, 42201)

    check(client.get_compatibility() == "BACKWARD", "the default level")
    client.set_compatibility(subject_name="scratch-value", level="FULL")
    check(client.get_compatibility("scratch-value") == "FULL", "a subject's level")
    client.register_schema("scratch-value", Schema('"string"', "AVRO"))
    check(client.delete_subject("scratch-value") == [1], "delete")
    expect_error(lambda: client.get_versions("scratch-value"), 404, 40401)

    print(json.dumps({"id": latest.schema_id, "payloads": payloads}))


def consume(client, topic):
    deserializer = AvroDeserializer(client)
    context = SerializationContext(topic, MessageField.VALUE)
    payloads = json.load(sys.stdin)
    records = [deserializer(bytes.fromhex(payload), context) for payload in payloads]
    print(json.dumps(records))


def main():
    url, mode, topic = sys.argv[1:4]
    client = SchemaRegistryClient({"url": url})
    {"produce": produce, "consume": consume}[mode](client, topic)


if __name__ == "__main__":
    main()
