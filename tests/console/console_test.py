"""Drives the web console of a running `eddy server` in headless Chromium (selenium).

usage: console_test.py URL SCREENSHOT_DIR [--auth USER:PASSWORD]

Without --auth: creates a stream and a table in the editor, runs push queries over both and
inserts rows through the REST API while they run (the stream's rows append, the table's
update in place), charts a column, stops a query, runs pull queries, shows errors at their
position and checks the lists of streams, tables and queries. Saves PNG screenshots in
SCREENSHOT_DIR. With --auth: opens the page with credentials (the server requires basic
auth) and checks that the console reaches the API with them. Prints "all checks passed".
"""

import base64
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

TIMEOUT = 30


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("EDDY_CHROMIUM", "/usr/bin/chromium")
    for argument in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--user-data-dir=" + tempfile.mkdtemp(prefix="eddy-console-chromium-"),
    ]:
        options.add_argument(argument)
    service = Service(os.environ.get("EDDY_CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(options=options, service=service)


def wait_for(driver, what, condition):
    """Waits until condition(driver) is truthy; fails naming `what` and the page's state.
    An element that the page replaced while the condition read it (the lists are rebuilt on
    every refresh) is read again at the next poll."""
    try:
        return WebDriverWait(
            driver,
            TIMEOUT,
            poll_frequency=0.1,
            ignored_exceptions=(StaleElementReferenceException,),
        ).until(lambda d: condition(d))
    except Exception as error:
        state = driver.execute_script(
            "return {error: document.getElementById('error').innerText,"
            " results: document.getElementById('results').innerText,"
            " status: document.getElementById('server-status').innerText};"
        )
        raise AssertionError(f"timed out waiting for {what}: {state}") from error


def rest(url, path, body, auth=None):
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    if auth:
        request.add_header(
            "Authorization", "Basic " + base64.b64encode(auth.encode()).decode()
        )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.loads(response.read() or b"null")


def run_in_editor(driver, sql, with_keys=True):
    """Replaces the editor's text with `sql` and runs it (Ctrl-Enter, or the Run button)."""
    editor = driver.find_element(By.ID, "editor")
    runs = driver.execute_script("return document.body.dataset.runs || '0';")
    driver.execute_script("arguments[0].value = arguments[1];", editor, sql)
    # No selection: the whole text runs.
    driver.execute_script("arguments[0].setSelectionRange(0, 0);", editor)
    if with_keys:
        editor.send_keys(Keys.CONTROL, Keys.ENTER)
    else:
        driver.find_element(By.ID, "run").click()
    wait_for(
        driver,
        "the run to finish",
        lambda d: d.execute_script("return document.body.dataset.runs || '0';") != runs,
    )


def table_rows(driver, css):
    """The text of each cell of each body row of the tables matching `css`."""
    return driver.execute_script(
        "const table = document.querySelector(arguments[0]);"
        "if (!table) return null;"
        "return [...table.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent));",
        css,
    )


def names(driver, list_id):
    return driver.execute_script(
        "return [...document.querySelectorAll('#' + arguments[0] + ' li[data-name]')]"
        ".map(li => li.dataset.name);",
        list_id,
    )


def screenshot(driver, directory, name):
    path = os.path.join(directory, name)
    assert driver.save_screenshot(path), f"cannot save {path}"
    print(f"screenshot {path}")


def check_console(driver, url, shots):
    driver.get(url + "/")
    assert driver.title == "Eddy console", driver.title
    wait_for(
        driver,
        "the catalog to load",
        lambda d: "connected" in d.find_element(By.ID, "server-status").text,
    )

    # How the editor's text splits into statements: `;` inside quotes and comments does not
    # end one.
    cases = [
        ("SELECT 'a;b' FROM x; SHOW STREAMS;", ["SELECT 'a;b' FROM x;", "SHOW STREAMS;"]),
        ("SELECT `c;d` FROM \"e;\" ;\n\n", ['SELECT `c;d` FROM "e;" ;']),
        ("-- a; b\nSHOW TABLES;  ;", ["-- a; b\nSHOW TABLES;"]),
        ("/* ; */ SHOW QUERIES", ["/* ; */ SHOW QUERIES"]),
        ("SELECT 'it''s;' FROM x;", ["SELECT 'it''s;' FROM x;"]),
        ("  ; -- only a comment\n", []),
    ]
    for text, expected in cases:
        split = driver.execute_script(
            "return splitStatements(arguments[0]).map(s => s.text);", text
        )
        assert split == expected, (text, split, expected)

    # Several statements, run with Ctrl-Enter.
    run_in_editor(
        driver,
        "CREATE STREAM readings (sensor VARCHAR KEY, temperature DOUBLE)\n"
        "  WITH (kafka_topic='readings', value_format='JSON', partitions=1);\n"
        "CREATE TABLE sensor_stats AS\n"
        "  SELECT sensor, COUNT(*) AS readings, MAX(temperature) AS hottest\n"
        "  FROM readings GROUP BY sensor;\n"
        "CREATE TABLE quiet_sensors AS\n"
        "  SELECT sensor, COUNT(*) AS readings FROM readings\n"
        "  GROUP BY sensor HAVING COUNT(*) < 3;\n",
    )
    results = driver.find_element(By.ID, "results").text
    assert "Stream created" in results, results
    assert "Created query with ID CTAS_SENSOR_STATS" in results, results
    assert not driver.find_element(By.ID, "error").is_displayed()

    # The lists follow (polled).
    wait_for(driver, "READINGS in the streams", lambda d: "READINGS" in names(d, "streams"))
    wait_for(driver, "SENSOR_STATS in the tables", lambda d: "SENSOR_STATS" in names(d, "tables"))
    wait_for(
        driver,
        "the persistent query in the queries",
        lambda d: d.find_elements(By.CSS_SELECTOR, "#queries tr[data-query-id^='CTAS_SENSOR_STATS']"),
    )

    # A push query over the stream: rows append as they are inserted.
    run_in_editor(driver, "SELECT * FROM readings EMIT CHANGES;", with_keys=False)
    wait_for(driver, "the Stop button", lambda d: d.find_elements(By.CSS_SELECTOR, "button.stop"))
    live = "table.live-result"
    assert driver.find_element(By.CSS_SELECTOR, live).get_attribute("data-kind") == "stream"
    temperatures = [("s1", 20.5), ("s2", 18.0), ("s1", 21.5), ("s1", 23.0), ("s2", 17.5)]
    for sensor, temperature in temperatures:
        rest(
            url,
            "/ksql",
            {"ksql": f"INSERT INTO readings (sensor, temperature) VALUES ('{sensor}', {temperature});"},
        )
    wait_for(driver, "5 streamed rows", lambda d: len(table_rows(d, live) or []) == 5)
    expected = [[sensor, str(temperature)] for sensor, temperature in temperatures]
    assert table_rows(driver, live) == expected, table_rows(driver, live)

    # The chart of TEMPERATURE has one point per row.
    chart = driver.find_element(By.CSS_SELECTOR, ".chart svg")
    assert driver.find_element(By.CSS_SELECTOR, ".chart select").get_attribute("value") == "1"
    wait_for(driver, "5 chart points", lambda d: chart.get_attribute("data-points") == "5")
    assert chart.find_elements(By.CSS_SELECTOR, "path.series")
    screenshot(driver, shots, "push-stream.png")
    assert chart.screenshot(os.path.join(shots, "chart.png"))
    print(f"screenshot {os.path.join(shots, 'chart.png')}")

    # Stop closes the query on the server.
    query_id = driver.find_element(By.CSS_SELECTOR, ".result[data-query-id]").get_attribute("data-query-id")
    driver.find_element(By.CSS_SELECTOR, "button.stop").click()
    wait_for(
        driver,
        "the stopped query to end",
        lambda d: d.find_element(By.CSS_SELECTOR, ".result[data-query-id]").get_attribute("data-ended") == "true",
    )
    try:
        rest(url, "/close-query", {"queryId": query_id})
        raise AssertionError(f"{query_id} still runs after Stop")
    except urllib.error.HTTPError as error:
        assert error.code == 400, error

    # A push query over the table, from the beginning: one row per sensor, updated in place.
    driver.find_element(By.ID, "from-beginning").click()
    run_in_editor(driver, "SELECT sensor, readings, hottest FROM sensor_stats EMIT CHANGES;")
    assert driver.find_element(By.CSS_SELECTOR, live).get_attribute("data-kind") == "table"
    wait_for(
        driver,
        "the table's rows",
        lambda d: sorted(table_rows(d, live) or []) == [["s1", "3", "23.0"], ["s2", "2", "18.0"]],
    )
    rest(url, "/ksql", {"ksql": "INSERT INTO readings (sensor, temperature) VALUES ('s2', 25.25);"})
    rest(url, "/ksql", {"ksql": "INSERT INTO readings (sensor, temperature) VALUES ('s3', 9.5);"})
    wait_for(
        driver,
        "s2 updated in place and s3 added",
        lambda d: table_rows(d, live) == [["s1", "3", "23.0"], ["s2", "3", "25.25"], ["s3", "1", "9.5"]],
    )
    # The chart can switch to another numeric column.
    options = [o.text for o in driver.find_elements(By.CSS_SELECTOR, ".chart select option")]
    assert options == ["READINGS", "HOTTEST"], options
    screenshot(driver, shots, "push-table.png")

    # A deleted key (the HAVING no longer holds: a tombstone) leaves the live table.
    # Live: a new key appears, then its tombstone (HAVING no longer holds) removes it.
    run_in_editor(driver, "SELECT * FROM quiet_sensors EMIT CHANGES;")
    wait_for(driver, "s3 alone", lambda d: table_rows(d, live) == [["s3", "1"]])
    insert_s4 = {"ksql": "INSERT INTO readings (sensor, temperature) VALUES ('s4', 1.0);"}
    rest(url, "/ksql", insert_s4)
    wait_for(driver, "s4 shown", lambda d: table_rows(d, live) == [["s3", "1"], ["s4", "1"]])
    rest(url, "/ksql", insert_s4)
    rest(url, "/ksql", insert_s4)
    wait_for(driver, "s4 removed by its tombstone", lambda d: table_rows(d, live) == [["s3", "1"]])

    # The throughput and lag columns come from /metrics in Prometheus' text format.
    parsed = driver.execute_script(
        "return Object.fromEntries(queryMetrics(parseMetrics(arguments[0])));",
        "# HELP eddy_query_records_consumed_total Records read.\n"
        "# TYPE eddy_query_records_consumed_total counter\n"
        'eddy_query_records_consumed_total{query_id="CTAS_A_1"} 40\n'
        'eddy_query_records_consumed_total{query_id="CTAS_B_2"} 3\n'
        'eddy_query_consumer_lag{query_id="CTAS_A_1",topic="a",partition="0"} 5\n'
        'eddy_query_consumer_lag{query_id="CTAS_A_1",topic="a",partition="1"} 2\n'
        'eddy_query_records_produced_total{query_id="CTAS_A_1"} 7\n',
    )
    assert parsed == {
        "CTAS_A_1": {"consumed": 40, "lag": 7, "hasLag": True},
        "CTAS_B_2": {"consumed": 3, "lag": 0, "hasLag": False},
    }, parsed

    check_throughput(driver, url)

    # Pull queries: a new run stops the running push query first.
    run_in_editor(driver, "SELECT * FROM sensor_stats WHERE sensor = 's1';\nSELECT * FROM sensor_stats;")
    pulls = driver.find_elements(By.CSS_SELECTOR, "table.pull-result")
    assert len(pulls) == 2, len(pulls)
    assert table_rows(driver, "table.pull-result") == [["s1", "3", "23.0"]]
    all_rows = driver.execute_script(
        "return [...document.querySelectorAll('table.pull-result')[1].tBodies[0].rows]"
        ".map(r => [...r.cells].map(c => c.textContent));"
    )
    # (s9 is what check_throughput inserted while watching the rate.)
    assert sorted(row for row in all_rows if row[0] != "s9") == [
        ["s1", "3", "23.0"],
        ["s2", "3", "25.25"],
        ["s3", "1", "9.5"],
        ["s4", "3", "1.0"],
    ], all_rows
    keys = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "table.pull-result th.key")]
    assert keys[:1] == ["SENSOR"], keys
    assert not driver.find_elements(By.CSS_SELECTOR, "button.stop")
    screenshot(driver, shots, "pull.png")

    # A syntax error: the message, and the editor selects its line:column.
    bad = "SHOW STREAMS;\nCREATE STREAM broken (a INT)\n  WITH (kafka_topic=1 2);"
    run_in_editor(driver, bad)
    error = driver.find_element(By.ID, "error")
    wait_for(driver, "the error", lambda d: error.is_displayed())
    assert "Syntax Error" in error.text and "line 3, column 23" in error.text, error.text
    selection = driver.execute_script(
        "const e = document.getElementById('editor'); return [e.selectionStart, e.selectionEnd];"
    )
    position = bad.index("1 2") + 2
    assert selection == [position, position + 1], (selection, position)
    # The statement before it ran.
    assert "READINGS" in driver.find_element(By.ID, "results").text
    screenshot(driver, shots, "error.png")

    # An error without a position selects its whole statement.
    unknown = "SHOW TABLES;\nSELECT nope FROM readings EMIT CHANGES;"
    run_in_editor(driver, unknown)
    wait_for(driver, "the second error", lambda d: "NOPE" in error.text)
    selection = driver.execute_script(
        "const e = document.getElementById('editor'); return [e.selectionStart, e.selectionEnd];"
    )
    start = unknown.index("SELECT")
    assert selection == [start, len(unknown)], (selection, start)


def check_throughput(driver, url):
    """The persistent query's records/s (from its consumed counter) and lag in the queries
    list, from the server's /metrics while rows flow; "-" when /metrics answers 404 (a
    stand-in fetch in the page plays an older server)."""
    row = "#queries tr[data-query-id^='CTAS_SENSOR_STATS']"

    def cells(d):
        # The list is rebuilt on every refresh: a row replaced while it is read is read again.
        while True:
            try:
                return [c.text for c in d.find_elements(By.CSS_SELECTOR, row + " td.number")]
            except StaleElementReferenceException:
                time.sleep(0.05)

    def is_number(text):
        try:
            float(text)
            return True
        except ValueError:
            return False

    deadline = time.monotonic() + TIMEOUT
    while True:
        rest(url, "/ksql", {"ksql": "INSERT INTO readings (sensor, temperature) VALUES ('s9', 1.0);"})
        shown = cells(driver)
        if len(shown) == 2 and all(map(is_number, shown)) and float(shown[0]) > 0:
            break
        assert time.monotonic() < deadline, f"no throughput shown: {shown}"
        time.sleep(0.2)
    print(f"metrics: records/s and lag shown: {shown}")

    driver.execute_script(
        """
        const original = window.fetch;
        window.restoreFetch = () => { window.fetch = original; };
        window.fetch = (input, init) => String(input).endsWith("/metrics")
          ? Promise.resolve(new Response('{"message":"Resource not found"}', { status: 404 }))
          : original(input, init);
        """
    )
    wait_for(driver, "- without /metrics", lambda d: cells(d) == ["-", "-"])
    assert "no /metrics" in driver.find_element(By.ID, "server-status").text
    driver.execute_script("window.restoreFetch();")


def check_authenticated_console(driver, url, credentials):
    # The browser keeps credentials given in the address for the page's own requests.
    driver.get(url.replace("http://", f"http://{credentials}@") + "/")
    assert driver.title == "Eddy console", driver.title
    wait_for(
        driver,
        "the catalog to load with the credentials",
        lambda d: "connected" in d.find_element(By.ID, "server-status").text,
    )
    run_in_editor(
        driver,
        "CREATE STREAM guarded (id VARCHAR KEY, n INT)"
        " WITH (kafka_topic='guarded', value_format='JSON', partitions=1);",
    )
    assert "Stream created" in driver.find_element(By.ID, "results").text
    wait_for(driver, "GUARDED in the streams", lambda d: "GUARDED" in names(d, "streams"))


def main():
    url, shots = sys.argv[1].rstrip("/"), sys.argv[2]
    auth = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--auth" else None
    os.makedirs(shots, exist_ok=True)
    driver = browser()
    try:
        if auth:
            check_authenticated_console(driver, url, auth)
        else:
            check_console(driver, url, shots)
    except Exception:
        screenshot(driver, shots, "failure.png")
        raise
    finally:
        driver.quit()
    print("all checks passed")


if __name__ == "__main__":
    main()
