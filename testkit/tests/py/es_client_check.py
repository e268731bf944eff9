#!/usr/bin/python3
"""Cross-check of the Rust ES double with the official client, elasticsearch-py 7.17 (Debian's
python3-elasticsearch): if the client that real deployments use is happy with the double's
answers, the double's shapes are right.

  es_client_check.py URL VERSION     (VERSION as given to es-double --version)

Exits non-zero with a MISMATCH line on the first difference. Counts are checked through the
double's control API, so every retry the client makes is accounted for.
"""
import json
import sys
import urllib.request

import elasticsearch
from elasticsearch import Elasticsearch, helpers

URL, VERSION = sys.argv[1], sys.argv[2]
INDEX = "logstash-2026.01.02"


def check(cond, what, got=None):
    if not cond:
        print("MISMATCH (%s): %s%s" % (VERSION, what, "" if got is None else " -- got %r" % (got,)), file=sys.stderr)
        sys.exit(1)


def control(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def act(i, **extra):
    a = {"_index": INDEX, "_source": {"n": i, "message": "hello %d" % i}}
    if VERSION == "6.8.23":
        a["_type"] = "_doc"
    a.update(extra)
    return a


es = Elasticsearch([URL], timeout=10)

if VERSION in ("5.6.16", "opensearch-2.13.0"):
    # The real servers' root bodies make this client refuse them; so must the double's.
    try:
        es.info()
        check(False, "the client accepted a server it refuses")
    except elasticsearch.exceptions.UnsupportedProductError:
        pass
    print("ok: %s refused by the client's product check, as the real server is" % VERSION)
    sys.exit(0)

info = es.info()
check(info["version"]["number"] == VERSION, "info version", info["version"])
check(info["tagline"] == "You Know, for Search", "tagline", info["tagline"])

# Explicit and auto ids.
ok, errors = helpers.bulk(es, [act(i, _id="id-%d" % i) for i in range(5)] + [act(100 + i) for i in range(3)])
check((ok, errors) == (8, []), "first bulk", (ok, errors))
# Re-sending two of them overwrites: the double counts two duplicates.
ok, errors = helpers.bulk(es, [act(i, _id="id-%d" % i) for i in range(2)])
check((ok, errors) == (2, []), "resend", (ok, errors))
st = control("/_double/stats")
check((st["raw_docs"], st["distinct_docs"], st["duplicates"]) == (10, 8, 2), "counts after resend", st)

# create on an existing id: 409 with the real error type.
ok, errors = helpers.bulk(es, [act(0, _id="id-0", _op_type="create")], raise_on_error=False)
check(ok == 0 and len(errors) == 1, "conflict result", (ok, errors))
item = errors[0]["create"]
check(item["status"] == 409 and item["error"]["type"] == "version_conflict_engine_exception", "409 item", item)

# A document ES refuses: the client raises BulkIndexError with the item.
try:
    helpers.bulk(es, [act(0, _id="bad-1", _source={"": 1})])
    check(False, "no BulkIndexError for an empty field name")
except helpers.BulkIndexError as e:
    check(len(e.errors) == 1, "one refused item", e.errors)
    bad = e.errors[0]["index"]
    check(bad["status"] == 400 and bad["error"]["type"] in ("mapper_parsing_exception", "document_parsing_exception"),
          "400 item", bad)

if VERSION == "7.17.27":
    # Item-level 429s: streaming_bulk retries exactly the rejected items (only without
    # raise_on_error, which raises at the end of the chunk, before any retry).
    control("/_double/faults", {"reject_next_items": 2})
    results = list(helpers.streaming_bulk(es, [act(i, _id="r-%d" % i) for i in range(3)], raise_on_error=False,
                                          max_retries=3, initial_backoff=0.01))
    check(all(ok for ok, _ in results) and len(results) == 3, "streaming_bulk after 429s", results)
    # A whole-request 503: the transport retries it (retry_on_status includes 503).
    control("/_double/faults", {"fail_next_requests": 1, "fail_status": 503})
    resp = es.bulk(body=[{"index": {"_index": INDEX, "_id": "t-0"}}, {"n": 0}])
    check(resp["errors"] is False and resp["items"][0]["index"]["status"] == 201, "bulk after a 503", resp)
    # A whole-request 429 is not retried by the transport: the caller sees it.
    control("/_double/faults", {"fail_next_requests": 1, "fail_status": 429})
    try:
        es.bulk(body=[{"index": {"_index": INDEX, "_id": "t-1"}}, {"n": 1}])
        check(False, "no TransportError for a 429")
    except elasticsearch.TransportError as e:
        check(e.status_code == 429 and e.error == "es_rejected_execution_exception", "429 error", (e.status_code, e.error))
    want_docs, want_raw, want_dups = 12, 14, 2
else:
    want_docs, want_raw, want_dups = 8, 10, 2

rows = es.cat.indices(format="json")
check(len(rows) == 1, "one index", rows)
row = rows[0]
check(row["index"] == INDEX and row["docs.count"] == str(want_docs) and row["health"] == "yellow"
      and row["status"] == "open", "cat row", row)
check(list(row)[:10] == ["health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted",
                         "store.size", "pri.store.size"], "cat columns", list(row))
health = es.cluster.health()
check(health["status"] == "yellow" and health["number_of_nodes"] == 1, "health", health)

st = control("/_double/stats")
check((st["raw_docs"], st["distinct_docs"], st["duplicates"]) == (want_raw, want_docs, want_dups), "final counts", st)
if VERSION == "7.17.27":
    check(st["items_by_status"] == {"200": 2, "201": 12, "400": 1, "409": 1, "429": 2}, "items by status",
          st["items_by_status"])
    check(st["requests_by_status"].get("503") == 1 and st["requests_by_status"].get("429") == 1,
          "injected request failures", st["requests_by_status"])
    check(st["injected_request_failures"] == 2 and st["injected_item_failures"] == 2, "injected counts", st)
print("ok: %s, %d docs, %d accepted, %d duplicates" % (VERSION, want_docs, want_raw, want_dups))
