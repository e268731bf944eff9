use super::*;

fn ep(s: &str) -> EsEndpoint {
    s.parse().unwrap()
}

const LOG_NODES_WIN: &str = "LOG_NODE_COUNT=2 > 0 selects the in-cluster ES";
const ELK_WINS: &str =
    "ELK_SERVICE_HOSTS=http://elk-a:9200,https://elk-b:9243 selects the linked ELK service's ES";

#[test]
fn all_eight_combinations() {
    let in_cluster = ep("elasticsearch-logging.kube-system:9200");
    let elk = [ep("elk-a:9200"), ep("https://elk-b:9243")];
    let es_server = ep("es:9200");
    let in_cluster_url = "http://elasticsearch-logging.kube-system:9200";
    let elk_urls = ["http://elk-a:9200", "https://elk-b:9243"];

    // (log nodes, ELK linked, ES_SERVER set) → Ok((chosen, endpoints, ignored)) or Err.
    type Expected = Result<(DestinationSource, Vec<&'static str>, Vec<String>), NoDestination>;
    let table: [(bool, bool, bool, Expected); 8] = [
        (true, true, true, Ok((
            DestinationSource::InCluster,
            vec![in_cluster_url],
            vec![
                format!("ELK_SERVICE_HOSTS=http://elk-a:9200,https://elk-b:9243 ignored: {LOG_NODES_WIN}"),
                format!("ES_SERVER=http://es:9200 ignored: {LOG_NODES_WIN}"),
            ],
        ))),
        (true, true, false, Ok((
            DestinationSource::InCluster,
            vec![in_cluster_url],
            vec![format!("ELK_SERVICE_HOSTS=http://elk-a:9200,https://elk-b:9243 ignored: {LOG_NODES_WIN}")],
        ))),
        (true, false, true, Ok((
            DestinationSource::InCluster,
            vec![in_cluster_url],
            vec![format!("ES_SERVER=http://es:9200 ignored: {LOG_NODES_WIN}")],
        ))),
        (true, false, false, Ok((DestinationSource::InCluster, vec![in_cluster_url], vec![]))),
        (false, true, true, Ok((
            DestinationSource::ElkService,
            elk_urls.to_vec(),
            vec![format!("ES_SERVER=http://es:9200 ignored: {ELK_WINS}")],
        ))),
        (false, true, false, Ok((DestinationSource::ElkService, elk_urls.to_vec(), vec![]))),
        (false, false, true, Ok((DestinationSource::EsServer, vec!["http://es:9200"], vec![]))),
        (false, false, false, Err(NoDestination)),
    ];

    for (log_nodes, elk_linked, es_set, expected) in table {
        let count = if log_nodes { 2 } else { 0 };
        let hosts: &[EsEndpoint] = if elk_linked { &elk } else { &[] };
        let server = es_set.then_some(&es_server);
        let got = resolve_destination(count, &in_cluster, hosts, server).map(|plan| {
            let urls: Vec<String> = plan.endpoints.iter().map(EsEndpoint::base_url).collect();
            (plan.chosen, urls, plan.ignored)
        });
        let expected = expected.map(|(chosen, urls, ignored)| {
            (
                chosen,
                urls.into_iter().map(String::from).collect::<Vec<_>>(),
                ignored,
            )
        });
        assert_eq!(
            got, expected,
            "log nodes {log_nodes}, ELK {elk_linked}, ES_SERVER {es_set}"
        );
    }
}

#[test]
fn notes_hide_passwords() {
    let es_server = ep("https://elastic:hunter2@es:9243");
    let plan = resolve_destination(1, &ep("in:9200"), &[], Some(&es_server)).unwrap();
    assert_eq!(
        plan.ignored,
        ["ES_SERVER=https://elastic:***@es:9243 ignored: LOG_NODE_COUNT=1 > 0 selects the in-cluster ES"]
    );
}

#[test]
fn error_101_names_every_fix() {
    let msg = NoDestination.to_string();
    for needle in [
        "error 101",
        "LOG_NODE_COUNT",
        "ELK_SERVICE_HOSTS",
        "ES_SERVER",
        "LOGSHIP_OUTPUT",
    ] {
        assert!(msg.contains(needle), "{needle}: {msg}");
    }
}

#[test]
fn source_names() {
    assert_eq!(DestinationSource::InCluster.env(), "IN_CLUSTER_ES");
    assert_eq!(DestinationSource::ElkService.env(), "ELK_SERVICE_HOSTS");
    assert_eq!(DestinationSource::EsServer.env(), "ES_SERVER");
}
