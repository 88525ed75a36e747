//! Persistent collections across transactions: `initcol` opens `IP` for the client address,
//! `setvar` counts, a later transaction of the same client sees the count, another client does
//! not, and `expirevar` ends it.

use std::sync::Arc;
use waf_core::{RuleSet, Transaction};

const RULES: &str = r#"
SecRuleEngine On
SecAction "id:1,phase:1,pass,nolog,initcol:ip=%{REMOTE_ADDR}"
SecAction "id:2,phase:1,pass,nolog,setvar:ip.hits=+1"
SecRule ARGS:forget "@streq 1" "id:4,phase:1,pass,nolog,expirevar:ip.hits=0"
SecRule IP:hits "@ge 3" "id:3,phase:1,deny,status:429,log"
"#;

fn request(rules: &Arc<RuleSet>, client: &str, uri: &[u8]) -> Option<u16> {
    let mut tx = Transaction::new(Arc::clone(rules));
    tx.process_connection(client, 40000, "127.0.0.1", 80);
    tx.process_uri(uri, b"GET", b"1.1");
    tx.process_request_headers();
    tx.intervention().map(|it| it.status)
}

#[test]
fn counts_survive_transactions_per_key_and_expire() {
    let rules = Arc::new(RuleSet::from_text("persist.conf", RULES, None).unwrap());
    assert_eq!(request(&rules, "10.0.0.1", b"/"), None);
    assert_eq!(request(&rules, "10.0.0.1", b"/"), None);
    assert_eq!(request(&rules, "10.0.0.1", b"/"), Some(429));
    assert_eq!(
        request(&rules, "10.0.0.2", b"/"),
        None,
        "another client has its own count"
    );
    // expirevar with 0 seconds: gone for the next transaction
    assert_eq!(request(&rules, "10.0.0.1", b"/?forget=1"), Some(429));
    assert_eq!(request(&rules, "10.0.0.1", b"/"), None);
}

/// `setsid` and `setuid` open `SESSION` and `USER` under their keys (read back as `SESSIONID`
/// and `USERID`), each its own count per key. (`initcol` of a collection libmodsecurity v3 does
/// not know, `initcol:other=x`, does not load.)
const SESSION_RULES: &str = r#"
SecRuleEngine On
SecRule ARGS:sid "@rx ^(.+)$" "id:1,phase:1,pass,nolog,capture,setsid:%{TX.1}"
SecRule ARGS:uid "@rx ^(.+)$" "id:2,phase:1,pass,nolog,capture,setuid:%{TX.1}"
SecAction "id:3,phase:1,pass,nolog,setvar:session.n=+1,setvar:user.n=+1"
SecRule SESSIONID "@streq s1" "id:4,phase:1,pass,log,msg:'session s1'"
SecRule USERID "@streq u1" "id:5,phase:1,pass,log,msg:'user u1'"
SecRule SESSION:n "@ge 2" "id:6,phase:1,deny,status:401,log"
SecRule USER:n "@ge 3" "id:7,phase:1,deny,status:402,log"
"#;

#[test]
fn sessions_and_users_count_under_their_keys() {
    let rules = Arc::new(RuleSet::from_text("session.conf", SESSION_RULES, None).unwrap());
    let ids = |uri: &[u8]| {
        let mut tx = Transaction::new(Arc::clone(&rules));
        tx.process_connection("10.0.0.1", 40000, "127.0.0.1", 80);
        tx.process_uri(uri, b"GET", b"1.1");
        tx.process_request_headers();
        let mut ids: Vec<u64> = tx.messages().iter().map(|m| m.rule_id).collect();
        ids.sort_unstable();
        (tx.intervention().map(|it| it.status), ids)
    };
    assert_eq!(ids(b"/?sid=s1&uid=u1"), (None, vec![4, 5]));
    // the session's second request; the user's second
    assert_eq!(ids(b"/?sid=s1&uid=u1"), (Some(401), vec![4, 5, 6]));
    // another session, the same user's third
    assert_eq!(ids(b"/?sid=s2&uid=u1"), (Some(402), vec![5, 7]));
}
