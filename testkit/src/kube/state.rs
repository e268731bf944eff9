//! What the test API server holds: the pods, the resourceVersion counter, the history of
//! changes that watches resume from, the open watches, list snapshots for `continue`, and the
//! faults. Every change is published to the open watches under the same lock that records it,
//! so a watch sees each change exactly once, in order, whether from history or live.

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;

use super::selector::FieldSelector;
use super::status;

/// Changes kept for watches to resume from; older resourceVersions get 410.
const HISTORY: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    fn name(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// Counters of what the server answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KubeApiStats {
    pub lists: u64,
    pub watches: u64,
    pub gets: u64,
    pub forbidden: u64,
    /// ERROR 410 events sent (watches too old, or expired on purpose).
    pub expired: u64,
    pub bookmarks: u64,
}

pub(crate) enum WatchMsg {
    Data(Bytes),
    End,
}

pub(crate) struct Watcher {
    namespace: Option<String>,
    selector: FieldSelector,
    pub bookmarks: bool,
    /// The resourceVersion the watch started from (for the 410 message).
    since: u64,
    pub tx: mpsc::UnboundedSender<WatchMsg>,
}

impl Watcher {
    fn matches(&self, pod: &Value) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|ns| namespace_of(pod) == ns)
            && self.selector.matches(pod)
    }

    /// The event this watch sees for a change: objects moving into its selection are ADDED,
    /// out of it DELETED, as the API server's filtered watches report them.
    fn sees(&self, change: &Change) -> Option<EventType> {
        let before = change.old.as_ref().is_some_and(|o| self.matches(o));
        let after = self.matches(&change.new);
        match (change.kind, before, after) {
            (EventType::Deleted, true, _) => Some(EventType::Deleted),
            (EventType::Deleted, false, _) => None,
            (_, false, true) => Some(EventType::Added),
            (_, true, true) => Some(EventType::Modified),
            (_, true, false) => Some(EventType::Deleted),
            (_, false, false) => None,
        }
    }
}

struct Change {
    rv: u64,
    kind: EventType,
    old: Option<Value>,
    new: Value,
}

pub(crate) struct State {
    pods: BTreeMap<(String, String), Value>,
    rv: u64,
    /// Watches from a resourceVersion below this are too old.
    compacted: u64,
    history: VecDeque<Change>,
    watchers: Vec<Watcher>,
    snapshots: HashMap<u64, (u64, Vec<Value>)>,
    next_snapshot: u64,
    pub forbidden: bool,
    pub requests: Vec<String>,
    pub stats: KubeApiStats,
}

fn namespace_of(pod: &Value) -> &str {
    pod["metadata"]["namespace"].as_str().unwrap_or("")
}

fn name_of(pod: &Value) -> &str {
    pod["metadata"]["name"].as_str().unwrap_or("")
}

/// The object as the API server writes a single object: `kind` and `apiVersion` first.
pub(crate) fn with_kind(pod: &Value) -> String {
    let body = pod.to_string();
    match body.strip_prefix('{') {
        Some("}") | None => r#"{"kind":"Pod","apiVersion":"v1"}"#.to_owned(),
        Some(rest) => format!(r#"{{"kind":"Pod","apiVersion":"v1",{rest}"#),
    }
}

fn event_line(kind: &str, object: &str) -> Bytes {
    Bytes::from(format!("{{\"type\":\"{kind}\",\"object\":{object}}}\n"))
}

pub(crate) fn bookmark_line(rv: u64, initial_end: bool) -> Bytes {
    let metadata = if initial_end {
        format!(
            r#"{{"resourceVersion":"{rv}","annotations":{{"k8s.io/initial-events-end":"true"}}}}"#
        )
    } else {
        format!(r#"{{"resourceVersion":"{rv}","creationTimestamp":null}}"#)
    };
    event_line(
        "BOOKMARK",
        &format!(
            r#"{{"kind":"Pod","apiVersion":"v1","metadata":{metadata},"spec":{{"containers":null}},"status":{{}}}}"#
        ),
    )
}

/// How a watch wants to start.
pub(crate) struct WatchStart {
    pub namespace: Option<String>,
    pub selector: FieldSelector,
    /// `None`, `""` or `"0"`: the current pods as ADDED events first.
    pub resource_version: Option<u64>,
    pub send_initial_events: bool,
    pub bookmarks: bool,
}

impl State {
    pub fn new(initial_rv: u64) -> State {
        State {
            pods: BTreeMap::new(),
            rv: initial_rv,
            compacted: initial_rv,
            history: VecDeque::new(),
            watchers: Vec::new(),
            snapshots: HashMap::new(),
            next_snapshot: 1,
            forbidden: false,
            requests: Vec::new(),
            stats: KubeApiStats::default(),
        }
    }

    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    pub fn pods(&self) -> Vec<Value> {
        self.pods.values().cloned().collect()
    }

    pub fn pod(&self, namespace: &str, name: &str) -> Option<&Value> {
        self.pods.get(&(namespace.to_owned(), name.to_owned()))
    }

    fn next_rv(&mut self, pod: &mut Value) -> u64 {
        self.rv += 1;
        pod["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        self.rv
    }

    /// Adds a pod (its `kind`/`apiVersion` are dropped, a missing uid is made up); the new
    /// resourceVersion, or why not.
    pub fn add(&mut self, mut pod: Value) -> Result<u64, String> {
        let Some(obj) = pod.as_object_mut() else {
            return Err("a pod must be a JSON object".into());
        };
        obj.remove("kind");
        obj.remove("apiVersion");
        let key = (namespace_of(&pod).to_owned(), name_of(&pod).to_owned());
        if key.0.is_empty() || key.1.is_empty() {
            return Err("a pod needs metadata.name and metadata.namespace".into());
        }
        if self.pods.contains_key(&key) {
            return Err(format!("pods \"{}\" already exists", key.1));
        }
        if pod["metadata"]["uid"].as_str().is_none() {
            pod["metadata"]["uid"] =
                Value::String(format!("00000000-0000-4000-8000-{:012}", self.rv + 1));
        }
        let rv = self.next_rv(&mut pod);
        self.pods.insert(key, pod.clone());
        self.record(rv, EventType::Added, None, pod);
        Ok(rv)
    }

    pub fn modify(
        &mut self,
        namespace: &str,
        name: &str,
        f: impl FnOnce(&mut Value),
    ) -> Option<u64> {
        let key = (namespace.to_owned(), name.to_owned());
        let old = self.pods.get(&key)?.clone();
        let mut new = old.clone();
        f(&mut new);
        // Name and namespace are the key: a change to them would be another pod.
        new["metadata"]["name"] = old["metadata"]["name"].clone();
        new["metadata"]["namespace"] = old["metadata"]["namespace"].clone();
        let rv = self.next_rv(&mut new);
        self.pods.insert(key, new.clone());
        self.record(rv, EventType::Modified, Some(old), new);
        Some(rv)
    }

    pub fn delete(&mut self, namespace: &str, name: &str) -> Option<u64> {
        let old = self.pods.remove(&(namespace.to_owned(), name.to_owned()))?;
        let mut gone = old.clone();
        let rv = self.next_rv(&mut gone);
        self.record(rv, EventType::Deleted, Some(old), gone);
        Some(rv)
    }

    fn record(&mut self, rv: u64, kind: EventType, old: Option<Value>, new: Value) {
        let change = Change { rv, kind, old, new };
        let object = with_kind(&change.new);
        self.watchers.retain(|w| match w.sees(&change) {
            Some(t) => {
                w.tx.send(WatchMsg::Data(event_line(t.name(), &object)))
                    .is_ok()
            }
            None => !w.tx.is_closed(),
        });
        self.history.push_back(change);
        while self.history.len() > HISTORY {
            if let Some(dropped) = self.history.pop_front() {
                self.compacted = dropped.rv;
            }
        }
    }

    /// The list body for one page; `continue` tokens read from a snapshot, so pages are
    /// consistent as the API server's are.
    pub fn list(
        &mut self,
        namespace: Option<&str>,
        selector: &FieldSelector,
        limit: Option<usize>,
        continue_token: Option<&str>,
    ) -> Result<String, (u16, String)> {
        self.stats.lists += 1;
        let (id, rv, offset) = match continue_token {
            Some(token) => {
                let parsed = token.split_once(':').and_then(|(id, off)| {
                    Some((id.parse::<u64>().ok()?, off.parse::<usize>().ok()?))
                });
                let Some((id, offset)) = parsed.filter(|(id, _)| self.snapshots.contains_key(id))
                else {
                    return Err((
                        410,
                        status::failure(
                            410,
                            "Expired",
                            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                            "{}",
                        ),
                    ));
                };
                let rv = self.snapshots.get(&id).map_or(self.rv, |s| s.0);
                (id, rv, offset)
            }
            None => {
                let items: Vec<Value> = self
                    .pods
                    .values()
                    .filter(|p| namespace.is_none_or(|ns| namespace_of(p) == ns))
                    .filter(|p| selector.matches(p))
                    .cloned()
                    .collect();
                let id = self.next_snapshot;
                self.next_snapshot += 1;
                self.snapshots.insert(id, (self.rv, items));
                (id, self.rv, 0)
            }
        };
        let items = self.snapshots.get(&id).map(|s| &s.1[..]).unwrap_or(&[]);
        let end = limit
            .filter(|l| *l > 0)
            .map_or(items.len(), |l| (offset + l).min(items.len()));
        let page: Vec<String> = items[offset.min(end)..end]
            .iter()
            .map(Value::to_string)
            .collect();
        let more = items.len() - end;
        let metadata = if more > 0 {
            format!(
                r#"{{"resourceVersion":"{rv}","continue":"{id}:{end}","remainingItemCount":{more}}}"#
            )
        } else {
            self.snapshots.remove(&id);
            format!(r#"{{"resourceVersion":"{rv}"}}"#)
        };
        Ok(format!(
            r#"{{"kind":"PodList","apiVersion":"v1","metadata":{metadata},"items":[{}]}}"#,
            page.join(",")
        ))
    }

    /// Registers a watch and queues what it must see first. A resourceVersion older than the
    /// history answers with one ERROR 410 event and the end of the stream.
    /// Returns the stream's receiver, and a sender for it while the watch stays open.
    pub fn watch(
        &mut self,
        start: WatchStart,
    ) -> (
        mpsc::UnboundedReceiver<WatchMsg>,
        Option<mpsc::UnboundedSender<WatchMsg>>,
    ) {
        self.stats.watches += 1;
        let (tx, rx) = mpsc::unbounded_channel();
        let since = start.resource_version.unwrap_or(self.rv);
        let watcher = Watcher {
            namespace: start.namespace,
            selector: start.selector,
            bookmarks: start.bookmarks,
            since,
            tx,
        };
        let send = |b: Bytes| {
            let _ = watcher.tx.send(WatchMsg::Data(b));
        };
        match start.resource_version {
            Some(rv) if !start.send_initial_events => {
                if rv < self.compacted {
                    self.stats.expired += 1;
                    send(event_line(
                        "ERROR",
                        &status::expired(rv, self.compacted + 1),
                    ));
                    let _ = watcher.tx.send(WatchMsg::End);
                    return (rx, None);
                }
                for change in self.history.iter().filter(|c| c.rv > rv) {
                    if let Some(t) = watcher.sees(change) {
                        send(event_line(t.name(), &with_kind(&change.new)));
                    }
                }
            }
            _ => {
                for pod in self.pods.values().filter(|p| watcher.matches(p)) {
                    send(event_line("ADDED", &with_kind(pod)));
                }
                if start.send_initial_events {
                    send(bookmark_line(self.rv, true));
                }
            }
        }
        let tx = watcher.tx.clone();
        self.watchers.push(watcher);
        (rx, Some(tx))
    }

    /// Ends every open watch with ERROR 410 and forgets the history, as an API server whose
    /// watch cache moved on does: clients must list again.
    pub fn expire_watches(&mut self) -> usize {
        self.compacted = self.rv;
        self.history.clear();
        let mut ended = 0;
        for w in self.watchers.drain(..) {
            let line = event_line("ERROR", &status::expired(w.since, self.compacted + 1));
            if w.tx.send(WatchMsg::Data(line)).is_ok() {
                ended += 1;
                self.stats.expired += 1;
            }
            let _ = w.tx.send(WatchMsg::End);
        }
        ended
    }

    /// Sends a BOOKMARK at the current resourceVersion to the watches that asked for them.
    pub fn bookmark(&mut self) {
        let line = bookmark_line(self.rv, false);
        let mut sent = 0;
        self.watchers.retain(|w| {
            if !w.bookmarks {
                return !w.tx.is_closed();
            }
            let ok = w.tx.send(WatchMsg::Data(line.clone())).is_ok();
            sent += u64::from(ok);
            ok
        });
        self.stats.bookmarks += sent;
    }

    pub fn open_watches(&mut self) -> usize {
        self.watchers.retain(|w| !w.tx.is_closed());
        self.watchers.len()
    }
}
