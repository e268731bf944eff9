//! Reading a `_bulk` response: the `errors` flag first, and the items only when it is set.
//! Each item is classified: accepted, to be sent again (429 and 5xx: the cluster is busy), or
//! rejected for good (other 4xx, mapping errors: sending it again cannot help).

use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Debug, PartialEq, Eq)]
pub enum ItemOutcome {
    Accepted,
    Retry,
    Rejected { status: u16, reason: String },
}

#[derive(Deserialize)]
struct BulkResponse<'a> {
    #[allow(dead_code)]
    errors: bool,
    #[serde(default, borrow)]
    items: Vec<std::collections::HashMap<&'a str, Item<'a>>>,
}

#[derive(Deserialize)]
struct Item<'a> {
    status: u16,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum BulkOutcome {
    /// Every item was accepted.
    AllAccepted,
    /// One outcome per item, in request order.
    Items(Vec<ItemOutcome>),
}

/// The response with its items checked as [`BulkResponse`] reads them, but only counted: with
/// `errors` false (the common case, one item per document) nothing is built per item.
#[derive(Deserialize)]
struct BulkHead {
    errors: bool,
    #[serde(default)]
    items: Option<CheckedItems>,
}

/// How many items there were.
struct CheckedItems(usize);

impl<'de> Deserialize<'de> for CheckedItems {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Items;
        impl<'de> serde::de::Visitor<'de> for Items {
            type Value = CheckedItems;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of items")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<CheckedItems, A::Error> {
                let mut n = 0;
                while seq.next_element::<CheckedItem>()?.is_some() {
                    n += 1;
                }
                Ok(CheckedItems(n))
            }
        }
        d.deserialize_seq(Items)
    }
}

/// One item: a map of actions to [`Item`]s, like `HashMap<&str, Item>` without the map.
struct CheckedItem;

impl<'de> Deserialize<'de> for CheckedItem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Actions;
        impl<'de> serde::de::Visitor<'de> for Actions {
            type Value = CheckedItem;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an item")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<CheckedItem, A::Error> {
                while map.next_entry::<&'de str, Item<'de>>()?.is_some() {}
                Ok(CheckedItem)
            }
        }
        d.deserialize_map(Actions)
    }
}

/// Parses a 200 response to a request of `expected` items.
pub fn parse(body: &[u8], expected: usize) -> Result<BulkOutcome, String> {
    // With `errors` false: the items listed, read by a byte scan when the answer is written as
    // Elasticsearch writes it after the agent's `filter_path`, else by serde.
    let listed = match compact_all_accepted(body) {
        Some(n) => Some(n),
        None => {
            let head: BulkHead = serde_json::from_slice(body).map_err(|e| unreadable(body, e))?;
            if head.errors {
                return item_outcomes(body, expected);
            }
            head.items.map(|CheckedItems(n)| n)
        }
    };
    // The items, when listed (the agent's `filter_path` keeps them), must be one per document,
    // as in `item_outcomes`: a server that read the body differently would otherwise have its
    // answer taken for documents it never saw. Without them, `errors` false is the server's
    // word that every document was taken.
    match listed {
        Some(n) if n != expected => Err(miscounted(n, expected)),
        _ => Ok(BulkOutcome::AllAccepted),
    }
}

/// The outcome of each item of an answer with `errors` set.
fn item_outcomes(body: &[u8], expected: usize) -> Result<BulkOutcome, String> {
    let resp: BulkResponse = serde_json::from_slice(body).map_err(|e| unreadable(body, e))?;
    if resp.items.len() != expected {
        return Err(miscounted(resp.items.len(), expected));
    }
    let mut out = Vec::with_capacity(expected);
    for item in resp.items {
        let Some(item) = item.into_values().next() else {
            return Err("_bulk response item without an action".into());
        };
        out.push(match item.status {
            200..=299 => ItemOutcome::Accepted,
            429 | 500..=599 => ItemOutcome::Retry,
            status => ItemOutcome::Rejected {
                status,
                reason: item
                    .error
                    .map_or_else(|| "no reason given".to_owned(), |e| e.get().to_owned()),
            },
        });
    }
    Ok(BulkOutcome::Items(out))
}

fn unreadable(body: &[u8], e: serde_json::Error) -> String {
    let head = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    format!("unreadable _bulk response ({e}): {head:?}")
}

fn miscounted(items: usize, expected: usize) -> String {
    format!("_bulk response has {items} items for {expected} documents")
}

/// The number of items of an answer with `errors` false written exactly as Elasticsearch
/// writes it after the agent's `filter_path`: `{"errors":false,"items":[` then items like
/// `{"index":{"status":201}}` joined by commas, then `]}`. `None` for anything else (spaces,
/// other fields, an `error`), which the general parse then reads.
///
/// This is the answer to nearly every request, and reading it with serde cost 10 % of the
/// agent's instructions (about 940 per document). Everything accepted here is valid JSON that
/// [`BulkHead`] reads the same way, so no check of the general path is skipped: the count is
/// compared with the documents sent all the same.
fn compact_all_accepted(body: &[u8]) -> Option<usize> {
    let mut items = body
        .strip_prefix(br#"{"errors":false,"items":["#)?
        .strip_suffix(b"]}")?;
    if items.is_empty() {
        return Some(0);
    }
    let mut n = 0;
    loop {
        let rest = items.strip_prefix(b"{\"")?;
        // An action: `index`, `create`, `update` or `delete`.
        let action = rest.iter().position(|b| !b.is_ascii_lowercase())?;
        if action == 0 {
            return None;
        }
        let rest = rest[action..].strip_prefix(br#"":{"status":"#)?;
        // A status is three digits, and a JSON number has no leading zero.
        let [b'1'..=b'9', b'0'..=b'9', b'0'..=b'9', b'}', b'}', rest @ ..] = rest else {
            return None;
        };
        n += 1;
        match rest {
            [] => return Some(n),
            [b',', more @ ..] => items = more,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_errors_means_all_accepted() {
        assert_eq!(
            parse(br#"{"errors":false}"#, 3),
            Ok(BulkOutcome::AllAccepted)
        );
        assert_eq!(
            parse(
                br#"{"took":3,"errors":false,"items":[{"index":{"status":201}}]}"#,
                1
            ),
            Ok(BulkOutcome::AllAccepted)
        );
    }

    #[test]
    fn items_are_classified() {
        let body = br#"{"errors":true,"items":[
            {"index":{"status":201}},
            {"index":{"status":429,"error":{"type":"es_rejected_execution_exception"}}},
            {"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"x"}}},
            {"index":{"status":503}}]}"#;
        let BulkOutcome::Items(items) = parse(body, 4).unwrap() else {
            panic!("expected items");
        };
        assert_eq!(items[0], ItemOutcome::Accepted);
        assert_eq!(items[1], ItemOutcome::Retry);
        assert!(
            matches!(&items[2], ItemOutcome::Rejected { status: 400, reason } if reason.contains("mapper_parsing_exception"))
        );
        assert_eq!(items[3], ItemOutcome::Retry);
    }

    #[test]
    fn garbage_and_mismatches_are_errors() {
        assert!(parse(b"<html>oops</html>", 1).is_err());
        assert!(parse(b"", 1).is_err());
        assert!(parse(br#"{"errors":true,"items":[]}"#, 2).is_err());
    }

    #[test]
    fn items_are_checked_even_when_all_were_accepted() {
        for bad in [
            &br#"{"errors":false,"items":[{"index":{"status":"201"}}]}"#[..],
            br#"{"errors":false,"items":[{"index":{}}]}"#,
            br#"{"errors":false,"items":[7]}"#,
            br#"{"errors":false,"items":[{"index":{"status":201}}"#,
            br#"{"errors":false,"items":[{"index":{"status":201}}]} x"#,
        ] {
            assert!(parse(bad, 1).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        // As many items as documents, whether or not one failed.
        let two =
            br#"{"errors":false,"items":[{"index":{"status":201}},{"index":{"status":201}}]}"#;
        assert_eq!(parse(two, 2), Ok(BulkOutcome::AllAccepted));
        for expected in [1, 3] {
            assert_eq!(
                parse(two, expected),
                Err(format!(
                    "_bulk response has 2 items for {expected} documents"
                ))
            );
        }
        assert!(parse(br#"{"errors":false,"items":[]}"#, 1).is_err());
    }

    /// What the general parse makes of `body` when `errors` is false: the item count.
    fn general_count(body: &[u8]) -> Option<usize> {
        let head: BulkHead = serde_json::from_slice(body).ok()?;
        match (head.errors, head.items) {
            (false, Some(CheckedItems(n))) => Some(n),
            _ => None,
        }
    }

    #[test]
    fn the_compact_answer_is_read_without_serde_and_counted() {
        let item = |action: &str, status: u16| format!(r#"{{"{action}":{{"status":{status}}}}}"#);
        for n in [0, 1, 2, 7] {
            let items: Vec<String> = (0..n)
                .map(|i| item(["index", "create"][i % 2], [201, 200][i % 2]))
                .collect();
            let body = format!(r#"{{"errors":false,"items":[{}]}}"#, items.join(","));
            assert_eq!(compact_all_accepted(body.as_bytes()), Some(n), "{body}");
            assert_eq!(general_count(body.as_bytes()), Some(n), "{body}");
            assert_eq!(parse(body.as_bytes(), n), Ok(BulkOutcome::AllAccepted));
            assert!(parse(body.as_bytes(), n + 1).is_err());
        }
    }

    /// Every change of one byte, and every cut, of a compact answer: whatever the fast path
    /// still takes, the general parse takes too, with the same count.
    #[test]
    fn the_compact_reading_takes_nothing_the_general_parse_would_not() {
        let body =
            br#"{"errors":false,"items":[{"index":{"status":201}},{"create":{"status":409}}]}"#;
        let mut taken = 0;
        let mut check = |b: &[u8]| {
            if let Some(n) = compact_all_accepted(b) {
                taken += 1;
                assert_eq!(general_count(b), Some(n), "{}", String::from_utf8_lossy(b));
            }
        };
        for cut in 0..=body.len() {
            check(&body[..cut]);
            check(&body[cut..]);
        }
        let bytes: Vec<u8> = (0u8..=127).chain([0x80, 0xc3, 0xff]).collect();
        for at in 0..body.len() {
            for &b in &bytes {
                let mut changed = body.to_vec();
                changed[at] = b;
                check(&changed);
                changed.insert(at, b);
                check(&changed);
            }
            let mut shorter = body.to_vec();
            shorter.remove(at);
            check(&shorter);
        }
        // Some changes keep it valid (another digit, another action letter), and they are taken.
        assert!(taken > 100, "{taken}");
        // And what it does not take is left to the general parse, not refused.
        let spaced = br#"{"errors": false, "items": [{"index": {"status": 201}}]}"#;
        assert_eq!(compact_all_accepted(spaced), None);
        assert_eq!(parse(spaced, 1), Ok(BulkOutcome::AllAccepted));
        let took = br#"{"took":3,"errors":false,"items":[{"index":{"status":201}}]}"#;
        assert_eq!(compact_all_accepted(took), None);
        assert_eq!(parse(took, 1), Ok(BulkOutcome::AllAccepted));
    }

    #[test]
    fn real_es8_mixed_response() {
        let body = include_bytes!("../../tests/data/bulk-errors-mixed-es8.json");
        let BulkOutcome::Items(items) = parse(body, 4).unwrap() else {
            panic!("expected items");
        };
        assert_eq!(items.len(), 4);
        assert_eq!(items[0], ItemOutcome::Accepted);
        assert_eq!(items[1], ItemOutcome::Retry);
        assert!(matches!(
            &items[2],
            ItemOutcome::Rejected { status: 400, .. }
        ));
        assert!(matches!(
            &items[3],
            ItemOutcome::Rejected { status: 400, .. }
        ));
    }
}
