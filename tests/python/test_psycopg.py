"""Drives a running Eddy server's Postgres listener with psycopg (PyPI psycopg[binary] 3.2.10).

Usage: python3 test_psycopg.py HOST:PORT
       python3 test_psycopg.py HOST:PORT --auth USER PASSWORD

Without --auth: statements, pull queries (simple and extended protocol, prepared statements
with parameters), types, transactions, errors, and push queries read row by row then
cancelled or abandoned (checking they no longer run). With --auth: the right password
connects, a wrong one is refused. Exits non-zero with a message on the first mismatch.
"""

import sys
import time
from decimal import Decimal

import psycopg

TIMEOUT_SECONDS = 20


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def connect(address, user="eddy", password=None, autocommit=True):
    host, port = address.rsplit(":", 1)
    return psycopg.connect(
        host=host,
        port=int(port),
        user=user,
        password=password,
        dbname="eddy",
        sslmode="disable",
        connect_timeout=10,
        autocommit=autocommit,
    )


def wait_for(what, probe):
    """Calls probe() until it returns a true value; that value."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value!r}")
        time.sleep(0.1)


def wait_for_rows(what, query, expected):
    """Runs query() until it returns `expected` (a table catches up with the inserts before
    it: an earlier answer may hold only some of them); those rows."""
    last = []

    def probe():
        last[:] = [query()]
        return last[0] if last[0] == expected else None

    try:
        return wait_for(f"{what} to be {expected}", probe)
    except AssertionError as error:
        raise AssertionError(f"{error}; last answer: {last}") from None


def running_push_queries(conn):
    rows = conn.execute("SHOW QUERIES;").fetchall()
    return [row for row in rows if row[1] == "PUSH"]


def main_checks(address):
    conn = connect(address)
    conn.execute(
        "CREATE STREAM orders (id INT KEY, customer STRING, amount DOUBLE, price DECIMAL(6, 2)) "
        "WITH (kafka_topic='orders', value_format='JSON', partitions=1);"
    )
    conn.execute(
        "CREATE TABLE totals AS SELECT customer, COUNT(*) AS orders, SUM(amount) AS total "
        "FROM orders GROUP BY customer EMIT CHANGES;"
    )
    conn.execute(
        "CREATE TABLE order_counts AS SELECT id, COUNT(*) AS n FROM orders GROUP BY id EMIT CHANGES;"
    )
    # Parameters through the extended protocol, bound on the server: quotes in a string
    # parameter stay inside the string.
    insert = "INSERT INTO orders (id, customer, amount, price) VALUES (%s, %s, %s, %s)"
    for row in [
        (5, "alice", 10.5, Decimal("1.25")),
        (6, "bob", 3.0, Decimal("2.50")),
        (5, "o'hara", 1.5, Decimal("0.10")),
    ]:
        conn.execute(insert, row, prepare=True)
    conn.execute("INSERT INTO orders (id, customer, amount, price) VALUES (7, 'alice', 2.0, 9.99);")

    # A pull query through the simple protocol.
    rows = wait_for_rows(
        "alice's total",
        lambda: conn.execute("SELECT * FROM totals WHERE customer = 'alice';").fetchall(),
        [("alice", 2, 12.5)],
    )
    check(
        [type(value) for value in rows[0]] == [str, int, float],
        f"column types: {[type(value) for value in rows[0]]}",
    )
    # Prepared statements with parameters (extended protocol).
    cur = conn.cursor()
    wait_for_rows(
        "order count of id 5",
        lambda: cur.execute("SELECT * FROM order_counts WHERE id = %s", (5,), prepare=True).fetchall(),
        [(5, 2)],
    )
    names = [column.name for column in cur.description]
    check(names == ["ID", "N"], f"described columns: {names}")
    rows = wait_for(
        "o'hara's total",
        lambda: cur.execute("SELECT customer, total FROM totals WHERE customer = %s", ("o'hara",)).fetchall(),
    )
    check(rows == [("o'hara", 1.5)], f"quoted parameter rows: {rows}")
    # A parameter never becomes SQL.
    rows = cur.execute(
        "SELECT * FROM totals WHERE customer = %s", ("x' OR customer = 'alice",), prepare=True
    ).fetchall()
    check(rows == [], f"an injected parameter matched rows: {rows}")
    # DECIMAL is numeric.
    conn.execute("SET 'auto.offset.reset' = 'earliest';")
    rows = conn.execute("SELECT id, price FROM orders WHERE id = 7;").fetchall()
    check([str(value) for value in rows[0]] == ["7", "9.99"], f"decimal rows: {rows}")

    # SHOW and DESCRIBE are result sets.
    streams = [row[0] for row in conn.execute("SHOW STREAMS;").fetchall()]
    check("ORDERS" in streams, f"SHOW STREAMS: {streams}")
    fields = conn.execute("DESCRIBE orders;").fetchall()
    check(("ID", "INTEGER", "KEY") in fields, f"DESCRIBE: {fields}")
    # What drivers send on their own.
    version = conn.execute("SELECT version()").fetchone()[0]
    check("Eddy" in version, f"version: {version}")
    check(conn.execute("SHOW server_version").fetchone()[0].startswith("14"), "server_version")
    conn.execute("SET extra_float_digits = 3")

    # An error: the REST API's message, and the connection stays usable.
    try:
        conn.execute("SELECT * FROM nope;")
        raise AssertionError("a query over an unknown source succeeded")
    except psycopg.errors.SyntaxErrorOrAccessRuleViolation as error:
        check("NOPE" in str(error).upper(), f"error message: {error}")
    try:
        conn.execute("SELEC * FROM totals;")
        raise AssertionError("a bad statement succeeded")
    except psycopg.errors.SyntaxError as error:
        check("line 1:" in str(error), f"syntax error names no line: {error}")
    check(conn.execute("SELECT * FROM totals WHERE customer = 'bob';").fetchall() == [("bob", 1, 3.0)], "after errors")

    # Not in autocommit: psycopg sends BEGIN, then COMMIT.
    with connect(address, autocommit=False) as tx:
        rows = tx.execute("SELECT * FROM totals WHERE customer = 'bob';").fetchall()
        check(rows == [("bob", 1, 3.0)], f"rows in a transaction: {rows}")
        tx.commit()
        tx.rollback()

    # A push query read row by row, then cancelled.
    push = connect(address)
    push.execute("SET 'auto.offset.reset' = 'earliest';")
    seen = []
    try:
        for row in push.cursor().stream("SELECT id, customer FROM orders EMIT CHANGES;"):
            seen.append(row)
            if len(seen) == 2:
                check(len(running_push_queries(conn)) == 1, "the push query is listed")
                push.cancel()
        raise AssertionError("the cancelled push query ended normally")
    except psycopg.errors.QueryCanceled:
        pass
    check(seen[:2] == [(5, "alice"), (6, "bob")], f"push rows: {seen}")
    wait_for("the cancelled push query to stop", lambda: running_push_queries(conn) == [])
    # The connection is usable after the cancel.
    check(push.execute("SELECT * FROM order_counts WHERE id = 6;").fetchall() == [(6, 1)], "after cancel")

    # A push query with LIMIT ends by itself.
    rows = push.execute("SELECT customer FROM orders EMIT CHANGES LIMIT 3;").fetchall()
    check(rows == [("alice",), ("bob",), ("o'hara",)], f"LIMIT rows: {rows}")

    # A push query whose connection closes stops too.
    abandoned = connect(address)
    abandoned.execute("SET 'auto.offset.reset' = 'earliest';")
    stream = abandoned.cursor().stream("SELECT * FROM orders EMIT CHANGES;")
    next(stream)
    check(len(running_push_queries(conn)) == 1, "the second push query is listed")
    abandoned.pgconn.finish()
    wait_for("the abandoned push query to stop", lambda: running_push_queries(conn) == [])
    print("all checks passed")


def auth_checks(address, user, password):
    with connect(address, user=user, password=password) as conn:
        streams = [row[0] for row in conn.execute("SHOW STREAMS;").fetchall()]
        check(streams == ["KSQL_PROCESSING_LOG"], "only the processing log's stream yet")
    for wrong_user, wrong_password in [(user, password + "x"), ("nobody", password)]:
        try:
            connect(address, user=wrong_user, password=wrong_password)
            raise AssertionError(f"{wrong_user} connected with a wrong password")
        except psycopg.OperationalError as error:
            check("password" in str(error).lower(), f"authentication error: {error}")
    print("all checks passed")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[2] == "--auth":
        auth_checks(sys.argv[1], sys.argv[3], sys.argv[4])
    else:
        main_checks(sys.argv[1])
