"""Drives a running Eddy server with the third-party `ksqldb` Python client (PyPI, 1.0.1).

Usage: python3 test_ksqldb_client.py http://127.0.0.1:PORT

The client sends /ksql and /close-query over HTTP/1.1 (requests) and /query-stream and
/inserts-stream over HTTP/2 cleartext with prior knowledge (httpx), so one run checks both
protocols. Exits non-zero with a message on the first mismatch.
"""

import asyncio
import sys
import time

from ksqldb import KSQLdbClient

TIMEOUT_SECONDS = 20
EARLIEST = {"auto.offset.reset": "earliest"}


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def ksql_status(client, sql, properties=None):
    """Runs one statement through /ksql and checks that it succeeded."""
    entities = client.ksql(sql, stream_properties=properties)
    check(len(entities) == 1, f"{sql}: expected one entity, got {entities}")
    entity = entities[0]
    check(entity.get("@type") == "currentStatus", f"{sql}: expected currentStatus, got {entity}")
    status = entity["commandStatus"]["status"]
    check(status == "SUCCESS", f"{sql}: expected SUCCESS, got {entity}")
    return entity


def insert(client, rows):
    acks = client.inserts_stream("READINGS", rows)
    expected = [{"status": "ok", "seq": seq} for seq in range(len(rows))]
    check(acks == expected, f"inserts-stream: expected acks {expected}, got {acks}")


async def next_element(elements, what):
    try:
        return await asyncio.wait_for(elements.__anext__(), TIMEOUT_SECONDS)
    except StopAsyncIteration:
        raise AssertionError(f"{what}: the response ended early") from None
    except asyncio.TimeoutError:
        raise AssertionError(f"{what}: nothing arrived within {TIMEOUT_SECONDS}s") from None


async def push_query(client):
    """Reads the inserted rows, then a row inserted while the query runs, then closes it."""
    elements = client.query_async(
        "SELECT ID, READING FROM READINGS EMIT CHANGES;",
        stream_properties=EARLIEST,
        timeout=TIMEOUT_SECONDS,
    )
    metadata = await next_element(elements, "push query metadata")
    check(
        metadata.get("columnNames") == ["ID", "READING"],
        f"push query: unexpected metadata {metadata}",
    )
    check(
        metadata.get("columnTypes") == ["STRING", "INTEGER"],
        f"push query: unexpected column types {metadata}",
    )
    query_id = metadata.get("queryId")
    check(bool(query_id), f"push query: no queryId in {metadata}")
    rows = [await next_element(elements, "push query row") for _ in range(3)]
    check(
        sorted(rows) == [["a", 1], ["a", 3], ["b", 2]],
        f"push query: unexpected rows {rows}",
    )
    # The client's insert call is synchronous: run it beside the open push query.
    await asyncio.to_thread(insert, client, [{"ID": "c", "READING": 4}])
    live = await next_element(elements, "push query live row")
    check(live == ["c", 4], f"push query: expected the live row ['c', 4], got {live}")
    check(client.close_query(query_id), f"close-query {query_id} was refused")
    try:
        extra = await asyncio.wait_for(elements.__anext__(), TIMEOUT_SECONDS)
        raise AssertionError(f"push query: got {extra} after close-query")
    except StopAsyncIteration:
        pass
    except asyncio.TimeoutError:
        raise AssertionError("push query: the response did not end after close-query") from None
    print(f"ok: push query {query_id} read 4 rows and was closed")


def pull_query(client):
    """Reads one key of the materialized table, waiting until the table caught up."""
    sql = "SELECT ID, TOTAL, READINGS FROM TOTALS WHERE ID = 'a';"
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while True:
        elements = client.query_sync(sql, timeout=TIMEOUT_SECONDS)
        check(len(elements) >= 1, f"pull query: no metadata in {elements}")
        metadata, rows = elements[0], elements[1:]
        check(
            metadata.get("columnNames") == ["ID", "TOTAL", "READINGS"],
            f"pull query: unexpected metadata {metadata}",
        )
        if rows == [["a", 4, 2]]:
            break
        check(time.monotonic() < deadline, f"pull query: expected [['a', 4, 2]], got {rows}")
        time.sleep(0.05)
    print("ok: pull query over the CTAS table")


def main(url):
    client = KSQLdbClient(url)
    ksql_status(
        client,
        "CREATE STREAM readings (id VARCHAR KEY, reading INT) "
        "WITH (kafka_topic='readings', value_format='JSON', partitions=1);",
    )
    streams = client.ksql("SHOW STREAMS;")[0]
    check(streams.get("@type") == "streams", f"SHOW STREAMS: unexpected entity {streams}")
    names = [stream["name"] for stream in streams["streams"]]
    check("READINGS" in names, f"SHOW STREAMS: READINGS missing from {names}")
    print("ok: /ksql created a stream")

    insert(
        client,
        [{"ID": "a", "READING": 1}, {"ID": "b", "READING": 2}, {"ID": "a", "READING": 3}],
    )
    print("ok: /inserts-stream acked 3 rows")

    asyncio.run(push_query(client))

    ksql_status(
        client,
        "CREATE TABLE totals AS SELECT id, SUM(reading) AS total, COUNT(*) AS readings "
        "FROM readings GROUP BY id EMIT CHANGES;",
        EARLIEST,
    )
    pull_query(client)
    print("all checks passed")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: test_ksqldb_client.py BASE_URL")
    try:
        main(sys.argv[1].rstrip("/"))
    except AssertionError as error:
        sys.exit(f"FAILED: {error}")
