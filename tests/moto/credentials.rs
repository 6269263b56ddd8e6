//! A run that outlasts its role sessions: the credentials of an assumed role are renewed before they expire, for
//! the plain AssumeRole provider and for the one that sets a source identity. The sessions here last 20 seconds
//! (the endpoint takes any `DurationSeconds`; AWS's minimum is 900), and calls go on for several of them.
//!
//! Each request's access key is read from its signature. A session is issued while the first request that uses it
//! waits to be signed, so it expires no earlier than that request's start plus the duration: every request signed
//! with it must be sent before then. The endpoint does not reject expired sessions itself, hence this bound.
#![cfg(feature = "aws")]

use std::time::{Duration, Instant};

use atrest::audit::collect::accounts::{Role, assumed};

use crate::support::sent::Sent;
use crate::support::{block_on, moto_endpoint};

const ACCOUNT: &str = "210987654321";
const SESSION: Duration = Duration::from_secs(20);

/// One request's start and the key it was signed with, as sent.
struct Request {
    started: Instant,
    sent: Instant,
    key: String,
}

fn run_past_several_sessions(source_identity: Option<&str>) -> Vec<Request> {
    block_on(async {
        let base =
            crate::org::config(&moto_endpoint(), "us-east-1", "testing", "testing", None).await;
        let role = Role {
            name: "atrest-audit-refresh".into(),
            external_id: Some("refresh-test".into()),
            session_name: "atrest-refresh".into(),
            source_identity: source_identity.map(str::to_string),
            duration: Some(SESSION),
        };
        let conf = assumed(&base, "aws", ACCOUNT, &role).await;
        let log = Sent::header("authorization");
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&conf)
                .interceptor(log.clone())
                .build(),
        );
        let kms = aws_sdk_kms::Client::from_conf(
            aws_sdk_kms::config::Builder::from(&conf)
                .interceptor(log.clone())
                .build(),
        );
        let begun = Instant::now();
        let mut requests = Vec::new();
        let mut keys = 0;
        // Until the third session has been used, or a minute.
        while keys < 3 && begun.elapsed() < Duration::from_secs(60) {
            let started = Instant::now();
            if requests.len() % 2 == 0 {
                let who = sts.get_caller_identity().send().await.unwrap();
                assert_eq!(who.account(), Some(ACCOUNT));
                assert!(
                    who.arn()
                        .unwrap_or_default()
                        .contains("assumed-role/atrest-audit-refresh"),
                    "{who:?}"
                );
            } else {
                kms.list_keys().send().await.unwrap();
            }
            let (sent, auth) = log.last().unwrap();
            // `Credential=<access key>/<date>/<region>/<service>/aws4_request`
            let key = auth
                .split("Credential=")
                .nth(1)
                .and_then(|c| c.split('/').next())
                .unwrap_or_default()
                .to_string();
            let new = requests.iter().all(|r: &Request| r.key != key);
            keys += usize::from(new);
            requests.push(Request { started, sent, key });
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        requests
    })
}

fn assert_renewed_before_expiry(requests: &[Request]) {
    let mut sessions: Vec<(&str, Instant, usize)> = Vec::new();
    for r in requests {
        assert!(
            r.key.starts_with("ASIA"),
            "a request was not signed with a session key: {}",
            r.key
        );
        match sessions.iter_mut().find(|(k, ..)| *k == r.key) {
            Some((_, issued_after, uses)) => {
                assert!(
                    r.sent < *issued_after + SESSION,
                    "a request was signed with session {} after it could have expired ({:?} after its first use)",
                    r.key,
                    r.sent - *issued_after
                );
                *uses += 1;
            }
            None => sessions.push((&r.key, r.started, 1)),
        }
    }
    assert!(
        sessions.len() >= 3,
        "the run outlasted its session but the credentials were renewed only {} time(s)",
        sessions.len() - 1
    );
    // Renewed when close to expiry, not on every call: each session but the newest served several requests.
    for (key, _, uses) in &sessions[..sessions.len() - 1] {
        assert!(*uses >= 3, "session {key} served only {uses} request(s)");
    }
}

#[test]
fn assumed_role_sessions_are_renewed_before_they_expire() {
    assert_renewed_before_expiry(&run_past_several_sessions(None));
}

#[test]
fn source_identity_sessions_are_renewed_before_they_expire() {
    assert_renewed_before_expiry(&run_past_several_sessions(Some("alice")));
}
